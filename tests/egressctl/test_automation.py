"""egressctl.automation against a fake `pulumi` CLI, driven by the real Automation API.

The fake (tests/fakes/fake_pulumi.py) stands in for the CLI only: the SDK builds the argv,
runs the process, reads the engine events (gRPC, or an event-log file for older CLIs) and
classifies the errors, so these tests pin what egressctl asks of the SDK and what it makes of
the answers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pulumi import automation as auto

from egressctl.automation import (
    Operation,
    PulumiNotInstalledError,
    ResourceChange,
    exit_code_for,
    run_operation,
    stack_outputs,
)
from egressctl.exit_codes import ExitCode
from egressctl.project import PROJECT_DIR
from egressctl.pulumi_cli import inline_program
from tests.egressctl.fake_cli import STACK, FakeCli, install_fake_cli
from tests.fakes import fake_pulumi
from tests.fakes.fake_pulumi import (
    EGRESS,
    NAT_RULE,
    NEW_EGRESS,
    POOL,
    SECRET_CONFIG,
    SECRET_OUTPUT,
    SECRET_SENTINEL,
    SEGMENT,
    Resource,
)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeCli:
    return install_fake_cli(tmp_path, monkeypatch)


def change(op: str, resource: Resource, *diffs: str) -> ResourceChange:
    urn = resource.urn(STACK)
    return ResourceChange(op=op, urn=urn, type=resource.type, name=resource.name, diffs=[*diffs])


# --- what each operation asks of the CLI --------------------------------------------------

# The selected stack is read, then the stack selected; afterwards (no stack was selected
# before in these tests) the selection is reset.
_SELECT = [["version"], ["stack", "ls"], ["stack", "select"]]
_RESTORE = [["stack", "unselect"]]
# operation -> (its CLI subcommand, flags it must pass, flags it must not pass, the calls)
_OPERATIONS: dict[Operation, tuple[str, set[str], set[str], list[list[str]]]] = {
    Operation.PREVIEW: (
        "preview",
        {"--diff"},
        {"--refresh", "--expect-no-changes", "--yes", "--json"},
        [*_SELECT, ["preview"], *_RESTORE],
    ),
    Operation.UP: (
        "up",
        {"--diff", "--yes", "--skip-preview"},
        {"--refresh", "--expect-no-changes"},
        # The SDK reads the outputs (masked, then revealed) and the summary after `up`.
        [
            *_SELECT,
            ["up"],
            ["stack", "output"],
            ["stack", "output"],
            ["stack", "history"],
            *_RESTORE,
        ],
    ),
    Operation.REFRESH: (
        "refresh",
        {"--diff", "--yes", "--skip-preview"},
        {"--preview-only", "--expect-no-changes"},
        [*_SELECT, ["refresh"], ["stack", "history"], *_RESTORE],
    ),
    Operation.DESTROY: (
        "destroy",
        {"--diff", "--yes", "--skip-preview"},
        {"--preview-only", "--remove", "--refresh"},
        [*_SELECT, ["destroy"], ["stack", "history"], *_RESTORE],
    ),
    Operation.DRIFT: (
        "preview",
        {"--diff", "--refresh", "--expect-no-changes"},
        {"--yes", "--skip-preview"},
        [*_SELECT, ["preview"], *_RESTORE],
    ),
}


@pytest.mark.parametrize("operation", list(Operation))
def test_each_operation_runs_its_cli_command(cli: FakeCli, operation: Operation) -> None:
    subcommand, required, forbidden, calls = _OPERATIONS[operation]

    result = cli.run(operation)

    assert result.exit_code is ExitCode.OK, result.message
    assert cli.words() == calls  # so no `stack init`, no `stack rm`
    select = cli.only("stack", "select")
    assert select.argv == ["--non-interactive", "stack", "select", "--stack", STACK]  # no --create
    run = cli.only(subcommand)
    assert run.argv[0] == "--non-interactive"
    flags = set(run.argv)
    assert required <= flags
    assert not forbidden & flags
    assert run.value("--stack") == STACK
    assert run.value("--color") == "never"
    assert run.value("--exec-kind") == "auto.local"  # the local project, not an inline program
    # CLI 3.272 > 3.205: the SDK takes the engine events over gRPC on loopback.
    assert (run.value("--event-log") or "").startswith("tcp://127.0.0.1:")


def test_work_dir_is_the_cwd_of_every_stack_command(cli: FakeCli) -> None:
    cli.run(Operation.UP)

    stack_calls = [call for call in cli.calls if call.words != ["version"]]
    assert len(stack_calls) == 7
    assert {call.cwd for call in stack_calls} == {str(cli.project)}


def test_work_dir_defaults_to_the_project(cli: FakeCli) -> None:
    run_operation(Operation.PREVIEW, STACK, on_output=cli.lines.append)

    assert cli.only("preview").cwd == str(PROJECT_DIR)


def test_env_reaches_the_cli(cli: FakeCli) -> None:
    backend = "file:///srv/egress-state"

    cli.run(Operation.PREVIEW, env={"PULUMI_BACKEND_URL": backend})

    stack_calls = [call for call in cli.calls if call.words != ["version"]]
    assert [call.env.get("PULUMI_BACKEND_URL") for call in stack_calls] == [backend] * 4
    assert all(call.env.get("PULUMI_SKIP_UPDATE_CHECK") == "true" for call in stack_calls)


def test_the_version_check_stays_on(cli: FakeCli) -> None:
    cli.run(Operation.PREVIEW)

    assert cli.words()[0] == ["version"]
    assert not any("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK" in call.env for call in cli.calls)


# --- the selected stack ------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation))
def test_the_stack_selected_before_is_selected_again(cli: FakeCli, operation: Operation) -> None:
    cli.select("dev")

    result = cli.run(operation)

    assert result.exit_code is ExitCode.OK, result.message
    assert cli.selected == "dev"  # a bare `pulumi up` afterwards still targets dev
    assert cli.selections() == [STACK, "dev"]
    assert cli.words()[-1] == ["stack", "select"]


def test_no_stack_selected_before_means_none_after(cli: FakeCli) -> None:
    cli.select(None)

    cli.run(Operation.PREVIEW)

    assert cli.selected is None
    assert cli.selections() == [STACK, None]


def test_the_operations_own_stack_selected_before_stays_selected(cli: FakeCli) -> None:
    cli.select(STACK)

    cli.run(Operation.PREVIEW)

    assert cli.selected == STACK
    assert cli.selections() == [STACK]


@pytest.mark.parametrize("scenario", ["fail", "locked-cloud", "locked-diy", "no-summary"])
def test_the_selection_is_restored_when_the_operation_fails(cli: FakeCli, scenario: str) -> None:
    cli.select("dev")
    cli.scenario(scenario)

    result = cli.run(Operation.PREVIEW)

    assert result.exit_code is not ExitCode.OK
    assert cli.selected == "dev"
    assert cli.selections() == [STACK, "dev"]


def test_a_missing_stack_leaves_the_selection_alone(cli: FakeCli) -> None:
    cli.select("dev")
    cli.scenario("no-stack")

    cli.run(Operation.UP)

    assert cli.selected == "dev"
    assert cli.selections() == [STACK]  # the select that failed; nothing to restore


def test_a_selection_that_cannot_be_restored_is_a_warning(cli: FakeCli) -> None:
    cli.select("gone")  # selected, then removed by someone else

    result = cli.run(Operation.PREVIEW)

    assert result.exit_code is ExitCode.OK, result.message  # the preview itself succeeded
    assert cli.selections() == [STACK, "gone"]
    warnings = [line for line in cli.lines if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"warning: stack '{STACK}' is still selected; could not select stack 'gone' again "
        "(run `pulumi stack select gone`): error: no stack named 'gone' found"
    )


def test_a_fully_qualified_stack_name_reaches_the_cli_whole(cli: FakeCli) -> None:
    cli.select("dev")

    result = cli.run_stack("example/prod", Operation.PREVIEW)

    assert result.exit_code is ExitCode.OK, result.message
    assert result.stack == "example/prod"
    assert cli.only("preview").value("--stack") == "example/prod"
    assert cli.selections() == ["example/prod", "dev"]


# --- output, changes and summary ----------------------------------------------------------


def test_output_streams_through_on_output_line_by_line(cli: FakeCli) -> None:
    cli.scenario("changes")

    cli.run(Operation.PREVIEW)

    assert f"Previewing update ({STACK}):" in cli.lines
    assert "    ~ vlan: (changed)" in cli.lines
    assert all("\n" not in line for line in cli.lines)


def test_stderr_streams_through_on_output_too(cli: FakeCli) -> None:
    cli.scenario("fail")

    cli.run(Operation.UP)

    assert "error: up failed" in cli.lines


@pytest.mark.parametrize("scenario", ["changes", "changes-cbd"])
def test_preview_reports_changes_and_summary_from_the_engine_events(
    cli: FakeCli, scenario: str
) -> None:
    cli.scenario(scenario)

    result = cli.run(Operation.PREVIEW)

    assert result.exit_code is ExitCode.OK
    assert result.changes == [
        change("update", SEGMENT, "vlan", "subnets"),
        change("replace", POOL, "ipRanges"),
        change("delete", NAT_RULE),
        change("create", NEW_EGRESS),
    ]
    assert result.summary == {"same": 3, "update": 1, "replace": 1, "delete": 1, "create": 1}
    assert result.message == (
        f"preview of stack '{STACK}' succeeded: create 1, delete 1, replace 1, same 3, update 1"
    )


@pytest.mark.parametrize(
    ("scenario", "order"),
    [
        # delete-before-replace (the pool): the old pool goes first, in place
        ("changes", ["delete-replaced", "replace", "create-replacement"]),
        # create-before-delete: the old one is deleted after every other step
        ("changes-cbd", ["create-replacement", "replace", "delete-replaced"]),
    ],
)
@pytest.mark.parametrize("operation", [Operation.PREVIEW, Operation.UP, Operation.DRIFT])
def test_a_replacement_is_one_replace_whatever_the_order_of_its_steps(
    cli: FakeCli, scenario: str, order: list[str], operation: Operation
) -> None:
    steps = fake_pulumi.step_events(
        fake_pulumi.CHANGES_PLAN, delete_before_replace=scenario == "changes"
    )
    assert [step.op for step in steps if step.resource == POOL] == order
    cli.scenario(scenario)

    result = cli.run(operation)

    pool = [c for c in result.changes if c.urn == POOL.urn(STACK)]
    assert pool == [change("replace", POOL, "ipRanges")]
    assert [c.name for c in result.changes] == [
        "web-segment",
        "web-pool",
        "web-nosnat",
        "api-egress",
    ]
    document = result.to_json()
    assert [c["op"] for c in document["changes"]] == ["update", "replace", "delete", "create"]


def test_no_changes_means_an_empty_change_list(cli: FakeCli) -> None:
    result = cli.run(Operation.PREVIEW)

    assert result.changes == []
    assert result.summary == {"same": 6}


def test_up_reports_changes_and_the_summary(cli: FakeCli) -> None:
    cli.scenario("changes")

    result = cli.run(Operation.UP)

    assert result.exit_code is ExitCode.OK
    assert [(c.op, c.name) for c in result.changes] == [
        ("update", "web-segment"),
        ("replace", "web-pool"),
        ("delete", "web-nosnat"),
        ("create", "api-egress"),
    ]
    assert result.summary == {"same": 3, "update": 1, "replace": 1, "delete": 1, "create": 1}
    # The summary is read back without secrets: no config value reaches the result.
    assert not cli.only("stack", "history").has("--show-secrets")


def test_refresh_reports_what_the_refresh_found_not_its_steps(cli: FakeCli) -> None:
    cli.scenario("drift")

    result = cli.run(Operation.REFRESH)

    assert result.exit_code is ExitCode.OK
    assert result.changes == [
        change("update", SEGMENT, "description"),
        change("update", EGRESS, "status"),
        change("delete", NAT_RULE),
    ]
    assert result.summary == {"same": 3, "update": 2, "delete": 1}


def test_destroy_deletes_but_keeps_the_stack(cli: FakeCli) -> None:
    result = cli.run(Operation.DESTROY)

    assert result.exit_code is ExitCode.OK
    assert {c.op for c in result.changes} == {"delete"}
    assert len(result.changes) == 6
    assert result.summary == {"delete": 6}
    assert ["stack", "rm"] not in cli.words()


def test_events_are_read_from_an_event_log_file_on_older_clis(cli: FakeCli) -> None:
    cli.version("v3.205.0")  # the last CLI for which the SDK tails a file
    cli.scenario("changes")

    result = cli.run(Operation.PREVIEW)

    event_log = cli.only("preview").value("--event-log") or ""
    assert event_log.endswith("eventlog.txt")
    assert len(result.changes) == 4
    assert result.summary["create"] == 1


# --- drift --------------------------------------------------------------------------------


def test_drift_without_changes_is_ok(cli: FakeCli) -> None:
    result = cli.run(Operation.DRIFT)

    assert result.exit_code is ExitCode.OK
    assert result.changes == []
    assert result.message == f"no drift in stack '{STACK}'"


def test_drift_found_by_the_refresh_exits_3_and_names_the_resources(cli: FakeCli) -> None:
    cli.scenario("drift")

    result = cli.run(Operation.DRIFT)

    assert result.exit_code is ExitCode.CHANGES_FOUND
    assert int(result.exit_code) == 3
    # What `up` would change, from the preview's steps: the segment is put back, the deleted
    # rule recreated. The egress drifted in an output only (its refresh found a new status),
    # the plan after is `same`: not drift.
    assert result.changes == [
        change("update", SEGMENT, "description"),
        change("create", NAT_RULE),
    ]
    assert result.message.startswith(f"drift in stack '{STACK}', 2 resource(s): ")
    for name in ("update antrea-egress:nsx:ChildSegment web-segment (description)", "web-nosnat"):
        assert name in result.message
    assert "web-egress" not in result.message


def test_drift_trusts_the_cli_when_only_a_refresh_outcome_changed(cli: FakeCli) -> None:
    # The refresh sees the Egress's status move; `--expect-no-changes` passes (the CLI exits
    # 0), as nothing `up` would do differs: no drift.
    cli.scenario("status-drift")

    result = cli.run(Operation.DRIFT)

    assert result.exit_code is ExitCode.OK, result.message
    assert result.changes == []
    assert result.message == f"no drift in stack '{STACK}'"


def test_refresh_still_reports_what_its_refresh_found(cli: FakeCli) -> None:
    cli.scenario("status-drift")

    result = cli.run(Operation.REFRESH)

    assert result.changes == [change("update", EGRESS, "status")]


def test_drift_includes_changes_the_code_would_make(cli: FakeCli) -> None:
    cli.scenario("changes")

    result = cli.run(Operation.DRIFT)

    assert result.exit_code is ExitCode.CHANGES_FOUND
    assert "api-egress" in result.message


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation))
def test_a_missing_stack_exits_2_and_is_not_created(cli: FakeCli, operation: Operation) -> None:
    cli.scenario("no-stack")

    result = cli.run(operation)

    assert result.exit_code is ExitCode.STACK_NOT_FOUND
    assert int(result.exit_code) == 2
    assert f"stack '{STACK}' does not exist" in result.message
    assert cli.words() == _SELECT  # nothing ran after the failed select


@pytest.mark.parametrize("scenario", ["locked-cloud", "locked-diy"])
@pytest.mark.parametrize("operation", [Operation.UP, Operation.DRIFT])
def test_a_locked_stack_exits_75(cli: FakeCli, scenario: str, operation: Operation) -> None:
    cli.scenario(scenario)

    result = cli.run(operation)

    assert result.exit_code is ExitCode.LOCKED
    assert int(result.exit_code) == 75
    assert f"stack '{STACK}' is locked or another update is in progress" in result.message


def test_a_failed_operation_exits_1_with_the_cli_error(cli: FakeCli) -> None:
    cli.scenario("fail")

    result = cli.run(Operation.PREVIEW)

    assert result.exit_code is ExitCode.FAILURE
    assert int(result.exit_code) == 1
    assert result.message == (
        f"preview of stack '{STACK}' failed: error: NSX manager at 127.0.0.1 returned "
        "503 Service Unavailable | error: preview failed"
    )
    assert "\n" not in result.message


def test_a_backend_that_cannot_list_stacks_fails_before_selecting(cli: FakeCli) -> None:
    cli.select("dev")
    cli.scenario("not-logged-in")

    result = cli.run(Operation.UP)

    assert result.exit_code is ExitCode.FAILURE
    assert result.message == f"up of stack '{STACK}' failed: {fake_pulumi.NOT_LOGGED_IN}"
    assert cli.words() == [["version"], ["stack", "ls"]]
    assert cli.selected == "dev"


def test_a_failed_drift_check_is_a_failure_not_drift(cli: FakeCli) -> None:
    cli.scenario("fail")

    result = cli.run(Operation.DRIFT)

    assert result.exit_code is ExitCode.FAILURE


def test_a_preview_without_summary_is_a_failure(cli: FakeCli) -> None:
    cli.scenario("no-summary")

    result = cli.run(Operation.PREVIEW)

    assert result.exit_code is ExitCode.FAILURE
    assert "summary event never found" in result.message


# --- secrets and JSON ---------------------------------------------------------------------


def test_the_failure_message_comes_from_stderr_not_from_program_output(cli: FakeCli) -> None:
    cli.scenario("fail")

    result = cli.run(Operation.UP)

    assert any(SECRET_CONFIG in line for line in cli.lines)  # the program printed it ...
    assert SECRET_CONFIG not in result.message  # ... and it stays out of the result
    assert SECRET_CONFIG not in json.dumps(result.to_json())


@pytest.mark.parametrize(
    ("scenario", "operation"),
    [
        ("ok", Operation.UP),
        ("changes", Operation.UP),
        ("drift", Operation.REFRESH),
        ("drift", Operation.DRIFT),
        ("ok", Operation.DESTROY),
    ],
)
def test_no_secret_reaches_the_result(cli: FakeCli, scenario: str, operation: Operation) -> None:
    cli.scenario(scenario)

    result = cli.run(operation)

    rendered = json.dumps(result.to_json()) + result.message + repr(result)
    assert SECRET_OUTPUT not in rendered
    assert SECRET_CONFIG not in rendered


def test_up_fetches_the_revealed_outputs_yet_keeps_them_out(cli: FakeCli) -> None:
    # The SDK asks for the revealed outputs after every `up`: the secret is in the process.
    result = cli.run(Operation.UP)

    assert any(call.has("--show-secrets") for call in cli.calls)
    assert SECRET_OUTPUT not in json.dumps(result.to_json())


def test_to_json_is_the_machine_readable_summary(cli: FakeCli) -> None:
    cli.scenario("changes")

    document = cli.run(Operation.PREVIEW).to_json()

    assert json.loads(json.dumps(document)) == document
    assert document == {
        "operation": "preview",
        "stack": STACK,
        "exit_code": 0,
        "status": "ok",
        "message": document["message"],
        "summary": {"same": 3, "update": 1, "replace": 1, "delete": 1, "create": 1},
        "changes": [
            {
                "op": "update",
                "urn": SEGMENT.urn(STACK),
                "type": SEGMENT.type,
                "name": "web-segment",
                "diffs": ["vlan", "subnets"],
            },
            {
                "op": "replace",
                "urn": POOL.urn(STACK),
                "type": POOL.type,
                "name": "web-pool",
                "diffs": ["ipRanges"],
            },
            {
                "op": "delete",
                "urn": NAT_RULE.urn(STACK),
                "type": NAT_RULE.type,
                "name": "web-nosnat",
                "diffs": [],
            },
            {
                "op": "create",
                "urn": NEW_EGRESS.urn(STACK),
                "type": NEW_EGRESS.type,
                "name": "api-egress",
                "diffs": [],
            },
        ],
    }


def test_to_json_carries_the_exit_code(cli: FakeCli) -> None:
    cli.scenario("locked-diy")

    document = cli.run(Operation.UP).to_json()

    assert (document["exit_code"], document["status"]) == (75, "locked")


# --- finding the CLI ----------------------------------------------------------------------


def _empty_path(cli: FakeCli, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    cli.monkeypatch.setenv("PATH", str(empty))


def _assert_install_hint(error: PulumiNotInstalledError) -> None:
    text = str(error)
    assert "https://www.pulumi.com/docs/install/" in text
    assert "curl -fsSL https://get.pulumi.com | sh" in text
    assert "`pulumi install`" in text


def test_no_cli_on_path_raises_with_install_instructions(cli: FakeCli, tmp_path: Path) -> None:
    _empty_path(cli, tmp_path)

    with pytest.raises(PulumiNotInstalledError) as raised:
        cli.run(Operation.PREVIEW)

    _assert_install_hint(raised.value)
    assert cli.calls == []


def test_stack_outputs_without_a_cli_raises_too(cli: FakeCli, tmp_path: Path) -> None:
    _empty_path(cli, tmp_path)

    with pytest.raises(PulumiNotInstalledError) as raised:
        stack_outputs(STACK, work_dir=cli.project)

    _assert_install_hint(raised.value)


def test_pulumi_command_names_the_executable(cli: FakeCli, tmp_path: Path) -> None:
    _empty_path(cli, tmp_path)

    result = cli.run(Operation.PREVIEW, pulumi_command=str(cli.executable))

    assert result.exit_code is ExitCode.OK
    assert cli.words() == _OPERATIONS[Operation.PREVIEW][3]


def test_a_missing_pulumi_command_raises(cli: FakeCli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "bin" / "pulumi"

    with pytest.raises(PulumiNotInstalledError, match="was not found"):
        cli.run(Operation.PREVIEW, pulumi_command=str(missing))


def test_a_pulumi_command_outside_a_bin_directory_is_refused(cli: FakeCli, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="in a `bin` directory"):
        cli.run(Operation.PREVIEW, pulumi_command=str(tmp_path / "pulumi"))


def test_a_cli_older_than_the_sdk_supports_is_refused(cli: FakeCli) -> None:
    cli.version("v3.0.0")

    with pytest.raises(PulumiNotInstalledError, match="Minimum version requirement failed"):
        cli.run(Operation.PREVIEW)

    assert cli.words() == [["version"]]


# --- stack outputs ------------------------------------------------------------------------


def test_stack_outputs_keep_secrets_masked_by_default(cli: FakeCli) -> None:
    outputs = stack_outputs(STACK, work_dir=cli.project)

    assert outputs == {
        "clusterName": "tkc-01",
        "egressIps": {"web": "10.100.5.130"},
        "kubeconfig": SECRET_SENTINEL,  # as the CLI prints it
    }
    # One masked read, nothing decrypted, no stack selected.
    assert cli.words() == [["version"], ["stack", "output"]]
    read = cli.only("stack", "output")
    assert read.argv == ["--non-interactive", "stack", "output", "--json", "--stack", STACK]
    assert read.cwd == str(cli.project)
    assert read.env.get("PULUMI_SKIP_UPDATE_CHECK") == "true"


def test_stack_outputs_reveal_secrets_on_request(cli: FakeCli) -> None:
    outputs = stack_outputs(STACK, work_dir=cli.project, reveal_secrets=True)

    assert outputs == {
        "clusterName": "tkc-01",
        "egressIps": {"web": "10.100.5.130"},
        "kubeconfig": SECRET_OUTPUT,
    }
    assert cli.words() == [["version"], ["stack", "output"], ["stack", "output"]]
    assert cli.calls[-1].has("--show-secrets")
    assert {call.cwd for call in cli.calls[1:]} == {str(cli.project)}


@pytest.mark.parametrize("reveal_secrets", [False, True])
def test_stack_outputs_leave_the_selected_stack_alone(cli: FakeCli, reveal_secrets: bool) -> None:
    cli.select("dev")

    stack_outputs(STACK, work_dir=cli.project, reveal_secrets=reveal_secrets)

    assert cli.selected == "dev"
    assert cli.selections() == []
    assert {call.value("--stack") for call in cli.calls if call.words != ["version"]} == {STACK}


@pytest.mark.parametrize("reveal_secrets", [False, True])
def test_stack_outputs_of_a_never_deployed_stack_are_none(
    cli: FakeCli, reveal_secrets: bool
) -> None:
    cli.scenario("never-deployed")

    assert stack_outputs(STACK, work_dir=cli.project, reveal_secrets=reveal_secrets) is None


@pytest.mark.parametrize("reveal_secrets", [False, True])
def test_stack_outputs_of_a_missing_stack_raise_stack_not_found(
    cli: FakeCli, reveal_secrets: bool
) -> None:
    cli.scenario("no-stack")

    with pytest.raises(auto.StackNotFoundError) as raised:
        stack_outputs(STACK, work_dir=cli.project, reveal_secrets=reveal_secrets)

    assert exit_code_for(raised.value) is ExitCode.STACK_NOT_FOUND
    assert ["stack", "init"] not in cli.words()


_ERRORS: list[tuple[Callable[[auto.CommandResult], auto.CommandError], ExitCode]] = [
    (auto.StackNotFoundError, ExitCode.STACK_NOT_FOUND),
    (auto.ConcurrentUpdateError, ExitCode.LOCKED),
    (auto.CommandError, ExitCode.FAILURE),
    (auto.CompilationError, ExitCode.FAILURE),
]


@pytest.mark.parametrize(("error_type", "expected"), _ERRORS)
def test_exit_code_for_maps_the_sdk_errors(
    error_type: Callable[[auto.CommandResult], auto.CommandError], expected: ExitCode
) -> None:
    error = error_type(auto.CommandResult(stdout="", stderr="error: x", code=255))

    assert exit_code_for(error) is expected


def test_inline_runs_the_program_in_this_process_not_through_the_language_host(
    cli: FakeCli,
) -> None:
    """The Automation API's inline mode: the CLI is told to call back this process's language
    server (`--client`) instead of starting `pulumi-language-python`."""
    result = cli.run(Operation.PREVIEW, inline=True)

    assert result.exit_code is ExitCode.OK, result.message
    run = cli.only("preview")
    assert run.value("--exec-kind") == "auto.inline"
    assert (run.value("--client") or "").startswith("127.0.0.1:")


def test_the_inline_program_is_the_projects_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored after the test
    monkeypatch.delitem(sys.modules, "egress_helper", raising=False)
    (tmp_path / "__main__.py").write_text(
        "import egress_helper\negress_helper.ran.append(__name__)\n"
    )
    (tmp_path / "egress_helper.py").write_text("ran: list[str] = []\n")

    inline_program(tmp_path)()

    helper = sys.modules.pop("egress_helper")
    assert helper.ran == ["__main__"]  # run as the language host runs it, the project importable
