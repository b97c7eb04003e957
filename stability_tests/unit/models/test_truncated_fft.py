"""The truncated rFFT: rfft(x)[..., :m] in value and gradient, for even and odd lengths."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.models.truncated_fft import truncated_rfft


@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 20), data=st.data())
def test_values_and_gradients_match_rfft(length, data):
    modes = data.draw(st.integers(1, length // 2 + 1))
    signal = torch.randn(2, 3, length, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(truncated_rfft(signal, modes), torch.fft.rfft(signal, dim=-1)[..., :modes])
    assert torch.autograd.gradcheck(lambda x: truncated_rfft(x, modes), (signal,))
    upstream = torch.randn(2, 3, modes, dtype=torch.complex128)
    ours = torch.autograd.grad(torch.view_as_real(truncated_rfft(signal, modes) * upstream).sum(), signal)[0]
    reference = torch.autograd.grad(
        torch.view_as_real(torch.fft.rfft(signal, dim=-1)[..., :modes] * upstream).sum(), signal)[0]
    torch.testing.assert_close(ours, reference)
