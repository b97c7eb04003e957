"""Two reconstructions of one object put in one frame: a reconstruction is determined only up to a global phase,
a linear phase ramp and a shift, so before two are compared (two seeds, or a run and another method's
`objectGuess`) these are estimated and removed.

The shift comes from the amplitudes (which no phase affects), by cross-correlation refined to 1/UPSAMPLE px with
a locally upsampled DFT (Guizar-Sicairos, Thurman & Fienup, Opt. Lett. 33, 156 (2008)); the ramp from the
spectrum of the product of the two (a ramp is a peak off the origin there), refined the same way; the global
phase from their inner product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UPSAMPLE = 20


@dataclass(frozen=True)
class Registration:
    """What takes the image into the reference's frame: multiply it by exp(i·ramp·r) (radians per px, r the pixel's
    (row, column)), move it by `shift` (rows, columns; px), multiply it by exp(i·phase)."""

    shift: tuple[float, float]
    ramp: tuple[float, float]
    phase: float


def register(image: np.ndarray, reference: np.ndarray) -> Registration:
    """The registration of a complex 2-D image onto a reference of the same shape: a first shift from the
    amplitudes (no phase affects them), the ramp from the product of the two so placed, then the shift again from
    the complex images with the ramp removed (exact for a shift, where amplitudes of a sub-pixel shift are not),
    and the global phase; then the ramp and phase refined on what is left."""
    amplitude, reference_amplitude = (np.abs(a) - np.abs(a).mean() for a in (image, reference))
    first = _peak(np.fft.fft2(reference_amplitude) * np.conj(np.fft.fft2(amplitude)), sign=1)
    rows, cols = reference.shape
    frequency = _peak(reference * np.conj(shift_image(image, first)), sign=-1)
    ramp = (2 * np.pi * frequency[0] / rows, 2 * np.pi * frequency[1] / cols)
    deramped = image * _ramp(reference.shape, ramp)
    shift = _peak(np.fft.fft2(reference) * np.conj(np.fft.fft2(deramped)), sign=1)
    phase = float(np.angle(np.vdot(shift_image(deramped, shift), reference)))
    return _refined(image, reference, Registration(shift=shift, ramp=ramp, phase=phase))


def _refined(image: np.ndarray, reference: np.ndarray, registration: Registration) -> Registration:
    """The ramp and phase corrected by the plane fitted to what phase is left (weighted by the amplitudes; small
    by now, so it does not wrap): a spectrum's peak is blurred by the amplitudes that carry the ramp."""
    mask = interior(reference.shape, registration)
    residual = (reference * np.conj(apply_registration(image, registration)))[mask]
    rows, cols = np.nonzero(mask)
    weight = np.sqrt(np.abs(residual))
    design = np.column_stack([np.ones(rows.size), rows, cols]) * weight[:, None]
    offset, row_slope, col_slope = np.linalg.lstsq(design, np.angle(residual) * weight, rcond=None)[0]
    # a ramp is applied before the shift: the slope added there also moves the phase by slope · shift
    shift = registration.shift
    return Registration(shift=shift, ramp=(registration.ramp[0] + row_slope, registration.ramp[1] + col_slope),
                        phase=registration.phase + offset + row_slope * shift[0] + col_slope * shift[1])


def apply_registration(image: np.ndarray, registration: Registration) -> np.ndarray:
    return shift_image(image * _ramp(image.shape, registration.ramp), registration.shift) * np.exp(1j * registration.phase)


def shift_image(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """The image moved by (rows, columns) px, sub-pixel, through the Fourier shift theorem (periodic: what leaves
    one edge enters the other, which `interior` leaves out of a comparison)."""
    rows, cols = np.fft.fftfreq(image.shape[0]), np.fft.fftfreq(image.shape[1])
    phase = np.exp(-2j * np.pi * (rows[:, None] * shift[0] + cols[None, :] * shift[1]))
    return np.fft.ifft2(np.fft.fft2(image) * phase)


def interior(shape: tuple[int, int], registration: Registration) -> np.ndarray:
    """The pixels a shift did not wrap around: a border of the shift's size (plus one) is left out."""
    mask = np.zeros(shape, dtype=bool)
    rows, cols = (int(np.ceil(abs(s))) + 1 for s in registration.shift)
    mask[rows:shape[0] - rows, cols:shape[1] - cols] = True
    return mask


def _ramp(shape: tuple[int, int], ramp: tuple[float, float]) -> np.ndarray:
    rows, cols = np.arange(shape[0])[:, None], np.arange(shape[1])[None, :]
    return np.exp(1j * (ramp[0] * rows + ramp[1] * cols))


def _peak(values: np.ndarray, sign: int) -> tuple[float, float]:
    """Where |Σ_k values(k)·exp(sign·2πi·k·x / n)| peaks over x, to 1/UPSAMPLE, signed: with the cross-power
    spectrum indexed by frequency (sign +1) the shift; with a product of images indexed by pixel (sign −1) the
    frequency of its ramp. The whole grid first (an FFT), then ±1.5 about its peak (a small matrix DFT)."""
    field = np.fft.ifft2(values) if sign > 0 else np.fft.fft2(values)
    coarse = np.unravel_index(int(np.argmax(np.abs(field))), field.shape)
    centre = [float(c if c <= n // 2 else c - n) for c, n in zip(coarse, field.shape)]
    fine = np.arange(-1.5, 1.5 + 1e-9, 1.0 / UPSAMPLE)
    index = [np.fft.fftfreq(n) * n if sign > 0 else np.arange(n) for n in field.shape]
    kernels = [np.exp(sign * 2j * np.pi * np.outer(centre[axis] + fine, index[axis]) / field.shape[axis])
               for axis in (0, 1)]
    local = np.abs(kernels[0] @ values @ kernels[1].T)
    row, col = np.unravel_index(int(np.argmax(local)), local.shape)
    return centre[0] + float(fine[row]), centre[1] + float(fine[col])


def agreement(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, kind: str = "amplitude") -> float:
    """How alike two reconstructions in one frame are, 1 for the same up to scale: `amplitude`, the Pearson
    correlation of the moduli (blind to any phase, which a network's patches carry each with its own offset);
    `complex`, |⟨a, b⟩| / (‖a‖·‖b‖) (phases included: for another method's reconstruction, once registered)."""
    mask = np.ones(a.shape, dtype=bool) if mask is None else mask
    if np.count_nonzero(mask) < 2:     # a shift as large as the image: nothing left to compare
        return float("nan")
    if kind == "complex":
        x, y = a[mask], b[mask]
        return float(np.abs(np.vdot(x, y)) / np.sqrt(np.vdot(x, x).real * np.vdot(y, y).real))
    x, y = np.abs(a[mask]).astype(np.float64), np.abs(b[mask]).astype(np.float64)
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else float("nan")
