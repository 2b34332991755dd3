"""The kata itself: generated files in step, the public suite's verdicts."""
import os

from grading.proofs import PY, run, step


@step("generated files match their sources (stubs, assignment notebook)")
def generated_files(problems):
    for module in ("grading.tools.gen_stubs", "grading.course.build_assignment"):
        done = run([PY, "-m", module, "--check"])
        problems.expect(done.returncode == 0, f"{module} --check: {done.stdout}{done.stderr}".strip())


@step("public suite: the reference passes, the stubs fail and say where to start")
def public_suite(problems):
    env = dict(os.environ, KATA_IMPL="solutions")
    done = run([PY, "-m", "pytest", "tests", "-q"], env=env)
    problems.expect(done.returncode == 0, "tests on solutions/ did not pass:\n" + done.stdout[-3000:])
    env["KATA_IMPL"] = "exercises"
    done = run([PY, "-m", "pytest", "tests", "-q"], env=env)
    problems.expect(done.returncode == 1, f"tests on the stubs exited {done.returncode}, expected 1")
    problems.expect("start with MatMul.forward" in done.stdout,
                    "the stubs' summary does not say where to start:\n" + done.stdout[-1500:])
    print("   " + "\n   ".join(done.stdout.strip().splitlines()[-6:]))
