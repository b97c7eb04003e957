"""The pytest plugin of the studies: options, parametrization, records, and the session-finish aggregation."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

from ..fsutil import DiskFull
from ..profiles import load_profile
from ..run.folder import RunFolder
from ..run.record import CLASSIFIED, UNRECORDED, RunRecord
from ..settings import STUDY_PROFILE
from ..train.interrupt import REQUEUE_EXIT_STATUS, RunInterrupted, stop_request
from .aggregate import aggregate
from .agreement import with_agreement
from .definitions import CRASH_HUNT, SHOOTOUT, STUDIES
from .design import add_design_options
from .gate import gate_failures
from .options import StudyOptions
from .plan import StudyPlan
from .records import CASE_PROPERTY, INTERRUPTED_PREFIX, StudyCase, error_record
from .report import terminal_table, write_reports
from .session import StudySession
from .status import StatusPrinter, read_running, runs_to_decide, runs_to_finish_look, status_line

# The markers each study's tests carry (stability_tests/studies/): `-m EXPR` selects a study when EXPR is true of them.
STUDY_TEST_MARKERS = {"crashhunt": ("slow", "crashhunt"), "shootout": ("slow", "shootout")}
MARKER_STUDIES = {"crashhunt": CRASH_HUNT, "shootout": SHOOTOUT}
SESSION_KEY = pytest.StashKey["StudySession"]()


def pytest_addoption(parser):
    group = parser.getgroup("stability", "the stability studies (crash hunt, shootout)")
    group.addoption("--profile", default=STUDY_PROFILE, help="quick | paper | auto (paper on a GPU, else quick) | smoke")
    group.addoption("--depths", default=None, help="crash-hunt depths, e.g. 4,6 (default: fixtures/studies.toml)")
    group.addoption("--seeds", default=None, help="seeds, e.g. 20260128,20260129 (default: the fixture's)")
    group.addoption("--n-seeds", type=int, default=None, help="use K seeds counted up from the fixture's seed_base")
    group.addoption("--arms", default=None, help="shootout arms, e.g. control,layerscale, or the name of a set of "
                    "arms in fixtures/studies.toml [arm_sets], e.g. architectures (default: [shootout] arms)")
    group.addoption("--probe-source", default=None, help="run every arm once per probe preset, e.g. disk,fzp (the "
                    "probe as a study factor; default: the arms' own probe)")
    group.addoption("--data-npz", default=None, metavar="FILE",
                    help="train every run on a measured dataset file (PtychoPINN's NPZ) instead of the simulation; a "
                         "run's object is then judged by its agreement with the other seeds (no ground truth)")
    group.addoption("--test-data-npz", default=None, metavar="FILE",
                    help="the test split of --data-npz as a file of its own (default: its last positions in x)")
    group.addoption("--hunt-arm", default=None, help="the arm whose depths the crash hunt sweeps (default: "
                    "[crash_hunt] arm), e.g. fno-vanilla")
    group.addoption("--crash-depth", type=int, default=None, help="shootout depth (default: the crash hunt's)")
    group.addoption("--epochs", type=int, default=None, help="override the profile's epochs (smoke runs)")
    group.addoption("--runs-dir", default="runs", help="run folders (default runs/)")
    group.addoption("--reports-dir", default="reports", help="summaries, Markdown and plots (default reports/)")
    group.addoption("--rerun", action="store_true", help="retrain runs that already finished")
    group.addoption("--logger", default="csv", help="experiment tracker each trained run is logged to, grouped by "
                    "configuration: none | csv (default) | tensorboard | mlflow | wandb")
    group.addoption("--device", default="auto", help="auto | cpu | cuda")
    group.addoption("--cache-dir", default=None, help="dataset cache (default $HARNESS_CACHE_DIR or fixtures/.cache)")
    group.addoption("--threads-per-run", type=int, default=1,
                    help="torch threads of each CPU run (default 1; fixed so results do not depend on -n)")
    group.addoption("--group-size", type=int, default=None,
                    help="seeds of one configuration trained together as one stacked model (default: all on a GPU, "
                         "as memory allows; 1 on a CPU); with -n, such a group stays on one worker (--dist loadgroup)")
    group.addoption("--count-unfinished-as-crash", action="store_true",
                    help="count inconclusive and oom runs as crashes (default: listed beside P_crash; infeasible "
                         "configurations never: they are no run)")
    group.addoption("--fail-on", default=None, metavar="GATES",
                    help="exit non-zero when the decisions say the recipe is unstable: crashy (a depth decided "
                         "crashy), worse (an arm decided to crash more than the control), or both as crashy,worse "
                         "(default: off: a crashed run is a recorded result, not a failed test)")
    add_design_options(group.addoption)


def is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _workers(config) -> int:
    """How many processes train: pytest-xdist's workers, else this one."""
    return len(config.getoption("tx", None) or []) or 1


def selected_studies(markexpr: str) -> list[str]:
    """The study markers whose tests `-m markexpr` can select, read with pytest's own expression grammar (so that
    `not crashhunt` selects none, and `crashhunt or shootout` both). Read when the session is configured, before
    anything is collected: the settings of these studies are checked and their scheduling chosen then."""
    if not markexpr.strip():
        return []
    expression = Expression.compile(markexpr)
    return [study for study, markers in STUDY_TEST_MARKERS.items()
            if expression.evaluate(lambda name, /, markers=markers, **_: name in markers)]


def collected_studies(nodeids, plan: StudyPlan) -> list[str]:
    """The study markers whose tests are among these collected node ids (after `-m` and `-k` and the paths given
    have selected them): the studies this session runs."""
    found = {case.study for nodeid in nodeids if (case := plan.case_of(nodeid)) is not None}
    return [marker for marker, study in MARKER_STUDIES.items() if study in found]


def _schedule_for_the_design(config, plan: StudyPlan) -> None:
    """Seeds trained together must run on one pytest-xdist worker: schedule by xdist_group. A sequential design
    wants its tests started in order, so that a decision can skip the seeds after it: one test at a time to
    each worker (pytest-xdist otherwise hands out large chunks of the matrix at the start)."""
    if config.getoption("dist", "no") != "load":
        return
    if plan.group_size() > 1:
        config.option.dist = "loadgroup"
    elif plan.design.sequential and getattr(config.option, "maxschedchunk", 0) is None:
        config.option.maxschedchunk = 1


JSON_REPORT = "pytest_report.json"
JSON_REPORT_KEY = pytest.StashKey[Path]()


def _keep_json_report(config, reports_dir: Path) -> None:
    """Study runs keep pytest-json-report's file beside the reports, unless the user chose otherwise. It is
    written under a temporary name and moves into place once complete (finish_json_report)."""
    if hasattr(config.option, "json_report") and not config.option.json_report:
        config.option.json_report = True
        config.option.json_report_file = str(partial_json_report(reports_dir))
        config.option.json_report_indent = 1
        config.stash[JSON_REPORT_KEY] = reports_dir / JSON_REPORT


def partial_json_report(reports_dir: Path) -> Path:
    """Where this session's JSON report is written until complete: a file of its own (the process id), so two
    sessions on one reports folder never write into one file and each moves its own report into place."""
    return reports_dir / f".{JSON_REPORT}.{os.getpid()}.partial"


def finish_json_report(partial: Path, final: Path) -> bool:
    """Move a complete JSON report into place; an incomplete one (a full disk) is removed, the previous
    one kept. Returns whether the new one is in place."""
    try:
        json.loads(partial.read_text())
    except (OSError, ValueError):
        partial.unlink(missing_ok=True)
        return False
    os.replace(partial, final)
    return True


def complete_studies(records: list[RunRecord]) -> list[RunRecord]:
    """The records of the studies that produced a result in this session: a study whose every test errored (it
    could not run) has no report set to replace the previous one with."""
    produced = {record.study for record in records if record.outcome not in UNRECORDED}
    return [record for record in records if record.study in produced]


def xdist_worker(config) -> int | None:
    """This process's pytest-xdist worker number (gw3 → 3), None in the controller or without xdist."""
    return int(config.workerinput["workerid"].removeprefix("gw") or 0) if is_xdist_worker(config) else None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    try:
        session = StudySession(StudyOptions.from_pytest(config), worker=xdist_worker(config))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = session
    studies = selected_studies(config.getoption("markexpr") or "")
    if not is_xdist_worker(config):  # aggregate once, in the controlling process only
        config.pluginmanager.register(StudyRecorder(config, checked=studies), "stability-recorder")
    if studies:
        check_studies(session, studies)
        config.pluginmanager.register(StopOnSignal(config), "stability-stop-on-signal")
        _schedule_for_the_design(config, session.plan)
        _keep_json_report(config, session.options.reports_dir)


def check_studies(session: StudySession, studies: list[str]) -> None:
    """The session's settings checked for these studies before any of their tests runs (a usage error if not)."""
    try:
        session.check([MARKER_STUDIES[study] for study in studies])
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_generate_tests(metafunc):
    plan = metafunc.config.stash[SESSION_KEY].plan

    def grouped(case, name):  # the seeds of one configuration trained together share an xdist group
        return pytest.param(case, marks=[pytest.mark.xdist_group(name)] if name else [])

    for study in STUDIES:
        if f"{study}_case" in metafunc.fixturenames:
            cases = plan.cases(study)
            metafunc.parametrize(f"{study}_case", [grouped(case, plan.group_name(case)) for case in cases],
                                 ids=[case.test_id for case in cases])


@pytest.fixture(scope="session")
def study_session(request):
    return request.config.stash[SESSION_KEY]


class StopOnSignal:
    """SIGTERM (a scheduler's preemption) or SIGINT end the study at a safe point: each running run
    writes a checkpoint after its current step and its test errors (never a crash or a pass); no
    further test starts; the reports are written; the exit status asks for a requeue. The same
    command afterwards resumes the interrupted runs and completes the study."""

    def __init__(self, config):
        self.stop = stop_request
        controller_with_workers = (not is_xdist_worker(config) and config.getoption("dist", "no") != "no"
                                   and bool(config.getoption("tx", None)))
        if controller_with_workers:  # the workers train; pass a SIGTERM on to them and wait for their reports
            self.previous = self.stop.catch([signal.SIGTERM], handler=self.stop.forwarding_handler)
        else:
            self.previous = self.stop.catch()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        if call.excinfo is not None and call.excinfo.errisinstance(RunInterrupted):
            item.session.shouldstop = str(call.excinfo.value)
            # an interruption, said in one line: the run is resumed by the same command, nothing is broken
            outcome.get_result().longrepr = f"{INTERRUPTED_PREFIX}{call.excinfo.value}"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session):
        if self.stop.requested:
            session.exitstatus = REQUEUE_EXIT_STATUS

    def pytest_unconfigure(self, config):
        self.stop.release(self.previous)


class StudyRecorder:
    """Gathers each study test's record (relayed from xdist workers too) and aggregates them at the end."""

    def pytest_unconfigure(self, config):
        if (final := config.stash.get(JSON_REPORT_KEY, None)) is not None:
            partial = Path(config.option.json_report_file)
            if not self.studies:   # no study test was selected: the previous report stays
                partial.unlink(missing_ok=True)
            elif partial.exists() and not finish_json_report(partial, final):
                print(f"stability: {partial} was incomplete (a full disk?): {final} left as it was", file=sys.stderr)

    def __init__(self, config, checked: list[str]):
        self.config = config
        self.checked = set(checked)          # studies whose settings were checked when the session was configured
        self.studies: set[str] = set()       # studies among the collected tests: the ones this session runs
        self.records: list[RunRecord] = []
        self.decided: set[str] = set()
        self.started = time.time()
        self.summaries: dict | None = None
        self.written: list[Path] = []
        self.run_seconds: list[float] = []
        self.gate_failures: list[str] = []
        self.status: StatusPrinter | None = None

    @pytest.hookimpl(trylast=True)   # after `-m` and `-k` have deselected
    def pytest_collection_modifyitems(self, items):
        self.collected([item.nodeid for item in items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        """Under pytest-xdist the workers collect; each tells this process its node ids."""
        self.collected(ids)

    def collected(self, nodeids: list[str]) -> None:
        """Study mode follows the collected tests: a study none of whose tests is selected writes nothing (no
        JSON report, no status), one selected without the `-m` expression naming it (`-m ""`) is checked now."""
        studies = collected_studies(nodeids, self.config.stash[SESSION_KEY].plan)
        if unchecked := [study for study in studies if study not in self.checked]:
            check_studies(self.config.stash[SESSION_KEY], unchecked)
            self.checked.update(unchecked)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if studies and self.status is None and reporter is not None:   # a status line every 30 s while it trains
            self.status = StatusPrinter(lambda line: reporter.write_line(f"status {line}"), self.status_text)
            self.status.start()
        self.studies.update(studies)

    def status_text(self) -> str:
        session = self.config.stash[SESSION_KEY]
        finished: dict[str, dict[str, int]] = {}
        for record in list(self.records):
            cell = f"depth {record.depth}" if record.study == "crash_hunt" else record.arm
            finished.setdefault(cell, {}).setdefault(record.outcome, 0)
            finished[cell][record.outcome] += 1
        design = session.plan.design
        hunt = {cell: counts for cell, counts in finished.items() if cell.startswith("depth ")}
        remaining = None
        if design.sequential and (hunt or not finished):
            remaining = runs_to_decide(hunt, design.p0, design.p1, design.alpha, design.beta)
        elif design.sequential:
            remaining = runs_to_finish_look(finished, session.plan.shootout_arms(), design.batch)
        run_s = sum(self.run_seconds) / len(self.run_seconds) if self.run_seconds else None
        decisions = [reason.split(":", 1)[0] for reason in sorted(self.decided)]
        return status_line(time.time() - self.started, read_running(session.options.runs_dir, self.started),
                           finished, decisions, remaining, run_s, _workers(self.config))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report):
        plan = self.config.stash[SESSION_KEY].plan
        if (case := plan.case_of(report.nodeid)) is None:
            return
        # the case named in pytest-json-report's file (its hook runs after this one), so that the file counts a
        # test that failed or whose worker died as an error record of its case
        report.user_properties.append((CASE_PROPERTY, case.as_json()))
        if report.failed:  # a harness error (even after recording), or a worker that died: never a crash
            last_line = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else "failed"
            self.records.append(error_record(case, last_line))
        elif report.passed and report.when == "call":
            record, trained_here = self._record_of(case)
            self.records.append(record)
            self._announce(report.nodeid, record, report.duration)
            if trained_here:   # its test's time is a run's time
                self.run_seconds.append(report.duration)
        elif report.skipped and isinstance(report.longrepr, tuple):
            self._announce_decision(report.longrepr[-1].removeprefix("Skipped: "))

    def _record_of(self, case: StudyCase) -> tuple[RunRecord, bool]:
        """A passed test's record, read from its run folder, and whether this session trained it."""
        ledger = self.config.stash[SESSION_KEY].ledger
        try:
            if case.study == SHOOTOUT:
                case = dataclasses.replace(case, depth=ledger.shootout_depth().depth)
            record = ledger.record(case)
        except LookupError as exc:
            return error_record(case, str(exc)), False
        if record is None:
            missing = f"its test passed, but {ledger.folder(case).path} holds no finished record of its configuration"
            return error_record(case, missing), False
        trained_here = (record.outcome in CLASSIFIED and record.reused_from is None
                        and ledger.written_in_session(RunFolder(record.run_dir)))
        return record, trained_here

    def _announce_decision(self, reason: str) -> None:
        """A decision that skips tests, said once when it first does."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and reason not in self.decided:
            self.decided.add(reason)
            reporter.write_line(f"decided: {reason} (its remaining seeds are skipped)")

    def _announce(self, nodeid: str, record, seconds: float) -> None:
        """One line per finished run, so long sessions show progress (also under pytest-xdist)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        ssim = f"  amp_ssim {record.amp_ssim:.3f}" if record.amp_ssim is not None else ""
        resumed = "  resumed from its checkpoint" if record.resumed else ""
        reporter.write_line(f"[{len(self.records)}] {nodeid.split('::')[-1]}: {record.label}{ssim}{resumed}  "
                            f"({seconds:.0f} s)")

    def pytest_sessionfinish(self, session):
        if self.status is not None:
            self.status.stop()
        # an interrupted session reports where its studies stand (the same command completes them)
        records = self.records if stop_request.requested else complete_studies(self.records)
        if skipped := sorted({r.study for r in self.records} - {r.study for r in records}):
            reports_dir = self.config.stash[SESSION_KEY].options.reports_dir
            print(f"stability: every {' and '.join(skipped)} test of this session errored: its reports in {reports_dir} "
                  "were left as they were", file=sys.stderr)
        self.records = with_agreement(records)   # runs on measured data judged across their seeds
        if not self.records:
            return
        study_session = self.config.stash[SESSION_KEY]
        options = study_session.options
        # the records name their profile; a session of errors only (e.g. interrupted at once) names the asked one
        profile = None if any(r.profile for r in self.records) else load_profile(options.profile).name
        self.summaries = aggregate(self.records, profile=profile, design=study_session.plan.design,
                                   seeds={study: study_session.plan.seeds(study) for study in STUDIES},
                                   count_unfinished_as_crash=options.count_unfinished_as_crash)
        if self.summaries.get("shootout"):
            try:
                self.summaries["shootout"]["depth_why"] = study_session.shootout_depth().why
            except LookupError:
                pass
        try:
            self.written = write_reports(self.summaries, options.reports_dir, wall_s=time.time() - self.started,
                                         records=self.records)
        except DiskFull as exc:   # the runs are recorded in their folders: `harness report` rebuilds the reports
            print(f"stability: reports not written: {exc}; the previous ones are kept (`harness report --runs-dir "
                  f"{options.runs_dir}` writes them once there is space)", file=sys.stderr)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.gate_failures = gate_failures(self.summaries, options.fail_on)
        if self.gate_failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if not self.summaries:
            return
        terminalreporter.write_sep("=", "stability: decisions and P_crash")
        terminalreporter.write_line(terminal_table(self.summaries))
        terminalreporter.write_line("")
        terminalreporter.write_line("reports: " + ", ".join(str(p) for p in self.written if p.suffix in (".json", ".md")))
        for failure in self.gate_failures:
            terminalreporter.write_line(f"stability: --fail-on: {failure}", red=True)
