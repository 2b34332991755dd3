"""`make selftest`: everything that proves the kata, step by step, with a verdict at the end.

The proofs live in grading/proofs (one module per topic). Each step prints PASS or FAIL with
the reasons; the exit status is 1 if any step failed. `python -m grading.selftest WORD...`
runs only the steps whose function name contains one of the words.
"""
import sys
import time
import traceback

from grading.proofs import Problems, load_steps


def main():
    started = time.monotonic()
    failed = []
    only = sys.argv[1:]
    steps = load_steps()
    for title, func in steps:
        if only and not any(word in func.__name__ for word in only):
            continue
        print(f"== {title}", flush=True)
        t0 = time.monotonic()
        problems = Problems()
        try:
            func(problems)
        except Exception:
            problems.append("the step itself crashed:\n" + traceback.format_exc())
        verdict = "PASS" if not problems else "FAIL"
        print(f"   {verdict} ({time.monotonic() - t0:.1f} s)")
        for p in problems:
            print("   - " + str(p).replace("\n", "\n     "))
        if problems:
            failed.append(title)
    ran = len(steps) if not only else sum(any(w in f.__name__ for w in only) for _, f in steps)
    print(f"\n{ran} steps in {time.monotonic() - started:.0f} s"
          + ("" if not failed else "; failed:\n  " + "\n  ".join(failed)))
    # The closing line in the form CI reads: "N passed, N failed".
    print(f"selftest: {ran - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
