"""python -m grading.catalogue [--reference-seeds N] [--fails]

Grades the reference, the untouched stubs and every catalogue entry with the hidden
suites in this process, prints the table, and exits 1 on any problem.
--fails prints, for each mistake, the failing tests as a TOML `fails = [...]` line
(to update mistakes.toml after changing the suites: review the result by hand).
"""
import argparse
import sys
import time

from grading.catalogue import check_catalogue, format_table, local_grade


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading.catalogue")
    parser.add_argument("--reference-seeds", type=int, default=200)
    parser.add_argument("--fails", action="store_true",
                        help="print each mistake's failing tests as a fails = [...] line")
    parser.add_argument("--verbose", "-v", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    progress = (lambda text: print("..", text, file=sys.stderr)) if args.verbose else None
    rows, problems = check_catalogue(local_grade, reference_seeds=args.reference_seeds,
                                     progress=progress)
    print(format_table(rows))
    if args.fails:
        print()
        for r in rows:
            if r.kind == "mistake":
                names = ", ".join(f'"{n.split(".", 1)[1]}"' for n in r.failing)
                print(f"{r.id}: fails = [{names}]")
    mistakes = sum(r.kind == "mistake" for r in rows)
    alternatives = sum(r.kind == "alternative" for r in rows)
    print(f"\n{mistakes} mistakes, {alternatives} alternatives, "
          f"{time.perf_counter() - start:.1f} s")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print(" -", p)
        return 1
    print("catalogue OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
