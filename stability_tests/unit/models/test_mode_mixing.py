"""Per-mode complex mixing: the values and gradients of torch.bmm, without copying the weight."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models.mode_mixing import mix_modes


@settings(max_examples=15, deadline=None)
@given(modes=st.integers(1, 5), batch=st.integers(1, 3), c_in=st.integers(1, 4), c_out=st.integers(1, 4))
def test_gradients_are_those_of_complex_bmm(modes, batch, c_in, c_out):
    spectrum = torch.randn(modes, batch, c_in, dtype=torch.complex128, requires_grad=True)
    weight = torch.randn(modes, c_in, c_out, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(mix_modes, (spectrum, weight))
    upstream = torch.randn(modes, batch, c_out, dtype=torch.complex128)
    ours = torch.autograd.grad(torch.view_as_real(mix_modes(spectrum, weight) * upstream).sum(), (spectrum, weight))
    reference = torch.autograd.grad(torch.view_as_real(torch.bmm(spectrum, weight) * upstream).sum(), (spectrum, weight))
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b)


def test_a_weight_view_gets_its_gradient_in_the_parameters_layout():
    storage = torch.randn(3, 2, 4, 5, dtype=torch.complex64)  # (h, w, c_in, c_out) memory order
    parameter = storage.permute(2, 3, 0, 1).requires_grad_()   # seen as [c_in, c_out, h, w]
    spectrum = torch.randn(6, 7, 4, dtype=torch.complex64)
    weight = parameter.permute(2, 3, 0, 1).reshape(6, 4, 5)
    torch.view_as_real(mix_modes(spectrum, weight)).sum().backward()
    assert parameter.grad.stride() == parameter.stride()
