"""The sandbox's own tests (grading/selftests), in every mode that runs here."""
import os

from grading.proofs import PY, run, step


@step("sandbox: isolation, limits and tamper tests (pytest grading/selftests)")
def sandbox_tests(problems):
    modes = ["off"] + (["bwrap"] if _bwrap_works() else [])
    if "bwrap" not in modes:
        print("   bubblewrap cannot run here: only the process-limits fallback is tested")
    for mode in modes:
        done = run([PY, "-m", "pytest", "grading/selftests", "-q", "-p", "no:cacheprovider"],
                   env=dict(os.environ, KATA_SANDBOX=mode))
        last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"   KATA_SANDBOX={mode}: {last}")
        problems.expect(done.returncode == 0, f"sandbox tests with KATA_SANDBOX={mode}:\n"
                        + done.stdout[-3000:] + done.stderr[-1000:])


def _bwrap_works():
    from grading.judge import remote
    return remote.bwrap_available()
