"""Each resource module's offline rendering: every type the program declares has one, and the
dynamic resources declare their properties once."""

from __future__ import annotations

import pytest

from antrea_egress.providers import child_segment_inputs, node_segment, parent_segment
from antrea_egress.providers.child_segment import ChildSegment
from egressctl.offline import run_offline, stack_values
from egressctl.render import RENDERINGS, RenderEngine, render_stack
from nsxsim import LAB


def declared_types(stack: str, **overrides: object) -> set[str]:
    values = {**stack_values(stack), **overrides}
    run = run_offline(stack, engine=RenderEngine(), values=values)
    return {r.type for r in run.registrations if r.custom}


@pytest.mark.parametrize(
    ("stack", "overrides"),
    [("prod", {}), ("staging", {}), ("lab", {}), ("prod", {"antrea-egress:natMode": False})],
)
def test_every_resource_type_beyond_kubernetes_objects_has_a_rendering(
    stack: str, overrides: dict[str, object]
) -> None:
    """A new NSX object that its module does not register here fails this test."""
    unrendered = {
        typ
        for typ in declared_types(stack, **overrides)
        if not typ.startswith(("kubernetes:", "pulumi:providers:")) and typ not in RENDERINGS
    }

    assert unrendered == set()


@pytest.mark.parametrize(
    ("resource", "inputs", "outputs"),
    [
        (ChildSegment, child_segment_inputs.INPUT_KEYS, child_segment_inputs.OUTPUT_KEYS),
        (node_segment.NodeSegment, node_segment.INPUT_KEYS, node_segment.OUTPUT_KEYS),
        (parent_segment.ParentSegment, ("path",), parent_segment.OUTPUT_KEYS),
    ],
)
def test_a_dynamic_resource_types_only_properties_it_declares(
    resource: type, inputs: tuple[str, ...], outputs: tuple[str, ...]
) -> None:
    attributes = set(vars(resource)["__annotations__"])  # its own, not the SDK's

    assert set(outputs) <= attributes <= {*inputs, *outputs}


def test_an_explicit_parent_segment_is_a_read_of_nsx_in_the_plan() -> None:
    (step,) = [s for s in render_stack("lab").plan if s.kind == "ParentSegment"]

    assert (step.target, step.detail) == ("nsx", f"reads the Tier-1 of {LAB.node_segment_path}")
