"""The probe presets: today's disk kept bit for bit, the zone plate's asymmetric |P| that removes the exact
twin, the twin region that holds the probe's energy, and presets that are data (their parameters in the key)."""

import numpy as np
import pytest
import torch

from harness.data import DatasetParams
from harness.data.params import ADDED_LATER
from harness.data.simulation import resolve_probe
from harness.errors import UsageError
from harness.evaluate.twin import ENERGY_SHARE, twin_region
from harness.evaluate.twin_cost import sample_patches, twin_cost
from harness.physics import far_field_amplitude, make_synthetic_probe, normalize_probe
from harness.physics.probe import probe_symmetry, reflect_about
from harness.physics.probe_presets import preset, zone_plate_probe

SYMMETRIC_ZONE_PLATE = {**preset("fzp"), "coma": 0.0, "tilt": 0.0}   # defocus and astigmatism only: even aberrations


def probe_of(source, n=64):
    return normalize_probe(resolve_probe(DatasetParams(N=n, probe_source=source))[0]).astype(np.complex128)


def test_the_disk_preset_is_todays_probe_and_keeps_todays_keys():
    np.testing.assert_array_equal(resolve_probe(DatasetParams(probe_source="disk"))[0], make_synthetic_probe(64))
    np.testing.assert_array_equal(resolve_probe(DatasetParams(probe_source="ideal_disk"))[0], make_synthetic_probe(64))
    assert DatasetParams(probe_source="disk").identity() == {k: v for k, v in DatasetParams().as_dict().items()
                                                             if k not in ADDED_LATER}
    assert DatasetParams(probe_source="fzp").cache_key() != DatasetParams(probe_source="disk").cache_key()


@pytest.mark.parametrize("source, exact", [("disk", True), ("fzp", False)])
def test_the_exact_twin_exists_only_under_a_point_symmetric_modulus(source, exact):
    symmetry = probe_symmetry(probe_of(source))
    assert symmetry["exact_twin"] is exact
    if not exact:
        assert symmetry["asymmetry"] >= 0.3


@pytest.mark.parametrize("parameters", [SYMMETRIC_ZONE_PLATE, None], ids=["zone plate, even aberrations", "disk"])
def test_a_point_symmetric_modulus_admits_the_amplitude_twin(parameters):
    """ψ' = conj(ψ(c − r)) has the same far-field amplitude as ψ = O·P; the object it implies, ψ'/P, has the
    reflected amplitude |O(c − r)| wherever the probe is lit exactly when |P| is point-symmetric about c."""
    probe = (normalize_probe(zone_plate_probe(64, parameters)) if parameters else probe_of("disk")).astype(np.complex128)
    shift = tuple(probe_symmetry(probe)["shift"])
    rng = np.random.default_rng(3)
    obj = rng.uniform(0.2, 1.0, (64, 64)) * np.exp(1j * rng.uniform(-np.pi, np.pi, (64, 64)))
    exit_wave = obj * probe
    twin_wave = np.conj(reflect_about(exit_wave, shift))
    far = [far_field_amplitude(torch.from_numpy(w)).numpy() for w in (exit_wave, twin_wave)]
    np.testing.assert_allclose(far[1], far[0], rtol=1e-6, atol=1e-9)
    lit = np.abs(probe) > 1e-2 * np.abs(probe).max()
    np.testing.assert_allclose(np.abs(twin_wave / probe)[lit], np.abs(reflect_about(obj, shift))[lit], rtol=2e-3)


@pytest.mark.parametrize("source", ["disk", "fzp"])
def test_the_twin_region_holds_most_of_the_probe_energy(source):
    probe = probe_of(source)
    region = twin_region(probe, tuple(probe_symmetry(probe)["shift"]))
    energy = np.abs(probe) ** 2
    assert energy[region].sum() / energy.sum() >= ENERGY_SHARE
    if source == "fzp":  # a focused probe's rings: the half-maximum threshold would keep its central spot only
        half_maximum = np.abs(probe) >= 0.5 * np.abs(probe).max()
        assert energy[half_maximum].sum() / energy.sum() < 0.5 and region.sum() > 4 * half_maximum.sum()


def test_a_presets_parameters_enter_the_key_and_a_bad_one_names_the_file_and_key(tmp_path, monkeypatch):
    import shutil

    from harness.fixtures import fixtures_dir

    fixtures = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), fixtures, ignore=shutil.ignore_patterns(".cache"))
    key = DatasetParams(probe_source="fzp").cache_key()
    text = (fixtures / "probes.toml").read_text()
    monkeypatch.setenv("HARNESS_FIXTURES", str(fixtures))
    (fixtures / "probes.toml").write_text(text.replace("coma = 1.0", "coma = 1.5"))
    assert DatasetParams(probe_source="fzp").cache_key() != key
    (fixtures / "probes.toml").write_text(text.replace("coma = 1.0", "coma = 1.0\nlens-colour = 3"))
    with pytest.raises(UsageError, match=r"probes.toml \[fzp\] lens-colour"):
        DatasetParams(probe_source="fzp").validate()
    (fixtures / "probes.toml").write_text(text)
    with pytest.raises(UsageError, match="--probe-source zoneplate: unknown probe"):
        preset("zoneplate")
    (fixtures / "probes.toml").unlink()  # the default preset lives in the file: its absence is said
    with pytest.raises(UsageError, match=r"--probe-source fzp: unknown probe .*probes.toml, which would define it, "
                                         r"does not exist"):
        DatasetParams().validate()


@pytest.mark.parametrize("added, says", [
    ('[disk]\nkind = "zone_plate"\n', "[disk] {'kind': 'zone_plate'}: is the built-in synthetic disk"),
    ("[disk]\nkind = \"disk\"\nradius = 5\n", "[disk] {'kind': 'disk', 'radius': 5}: is the built-in synthetic disk"),
    ('[ideal_disk]\nkind = "zone_plate"\n', "[ideal_disk] : is the built-in disk probe's other name"),
])
def test_a_preset_table_cannot_redefine_a_built_in(tmp_path, monkeypatch, added, says):
    import shutil

    from harness.fixtures import fixtures_dir

    fixtures = tmp_path / "fixtures"
    shutil.copytree(fixtures_dir(), fixtures, ignore=shutil.ignore_patterns(".cache"))
    text = (fixtures / "probes.toml").read_text()
    start = text.index("[disk]")
    end = text.index("[", start + 1)
    (fixtures / "probes.toml").write_text(text[:start] + added + "\n" + text[end:])
    monkeypatch.setenv("HARNESS_FIXTURES", str(fixtures))
    with pytest.raises(UsageError) as caught:
        preset("fzp")
    assert str(fixtures / "probes.toml") in str(caught.value) and says in str(caught.value), caught.value


@pytest.mark.integration
@pytest.mark.parametrize("source, low, high", [("disk", 0.9, 1.1), ("fzp", 10.0, np.inf)])
def test_the_amplitude_twin_fits_under_the_disk_and_misfits_under_the_zone_plate(source, low, high):
    measured, amplitude, phase, probe = sample_patches(DatasetParams(set_phi=True, probe_source=source), 4)
    cost = twin_cost(measured, amplitude, phase, probe, steps=200, starts=2)
    assert low <= cost["twin_over_floor"] <= high, cost
