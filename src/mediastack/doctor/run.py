"""Run every doctor check for a loaded config: probe the host, then judge the facts.

Control flow: derive what the config needs (folders, ports, secrets) -> probe each thing once
-> evaluate (pure) -> results in a fixed order. Probes are looked up on the ``probes`` module at
call time, so tests can replace one with a fake.
"""

from __future__ import annotations

from mediastack.catalogue import Stack
from mediastack.config import LoadedConfig
from mediastack.doctor import probes
from mediastack.doctor.expectations import (
    expected_folders,
    expected_published_ports,
    hardlink_folders,
    required_secrets,
)
from mediastack.doctor.facts import PortState
from mediastack.doctor.host_checks import (
    evaluate_compose,
    evaluate_config_disk,
    evaluate_data_disk,
    evaluate_engine,
    evaluate_tun,
)
from mediastack.doctor.model import CheckResult
from mediastack.doctor.stack_checks import (
    evaluate_folders,
    evaluate_hardlinks,
    evaluate_ports,
    evaluate_secret_values,
    evaluate_secrets_file,
)


def run_checks(loaded: LoadedConfig) -> list[CheckResult]:
    """Given a loaded config, probe the host and return one result per check, in this order:
    engine, compose, tun, folders, hardlinks, disk-data, disk-config, ports, secrets-file,
    secrets-values. Never raises for what it finds; only the results say what is wrong."""
    identity = loaded.config.identity
    folders = [probes.probe_folder(folder) for folder in expected_folders(loaded)]
    return [
        evaluate_engine(probes.probe_engine()),
        evaluate_compose(probes.probe_compose()),
        evaluate_tun(probes.probe_device(probes.TUN_DEVICE)),
        evaluate_folders(folders, identity.puid, identity.pgid),
        evaluate_hardlinks(probes.probe_hardlink(*hardlink_folders(loaded))),
        evaluate_data_disk(probes.probe_disk(loaded.data_folder)),
        evaluate_config_disk(probes.probe_disk(loaded.config_folder)),
        check_ports(loaded),
        evaluate_secrets_file(probes.probe_secrets_file(loaded.env_file)),
        evaluate_secret_values(
            required_secrets(loaded), probes.read_secret_values(loaded.env_file), loaded.env_file
        ),
    ]


def check_ports(loaded: LoadedConfig) -> CheckResult:
    """Bind-test every published port; ask the engine who holds a busy one only when one is."""
    ports = [probes.probe_port(published) for published in expected_published_ports(loaded)]
    holders = None
    if any(facts.state == PortState.IN_USE for facts in ports):
        projects = [loaded.project_name(stack) for stack in Stack]
        holders = probes.probe_stack_port_holders(projects)
    return evaluate_ports(ports, holders)
