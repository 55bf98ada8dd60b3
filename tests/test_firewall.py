"""Firewall rules (nftables): only the stack's ports are filtered, SSH never; cluster ports for nodes only."""

from __future__ import annotations

import pytest

from reasoning_stack.cluster import Cluster
from reasoning_stack.firewall import firewall_rules
from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.validation import SettingsInvalid, validate_host_data

KEY = {"REASONING_STACK_VLLM_API_KEY": "sk-test"}


def _rules(nodes: int = 1, in_cluster: Cluster | None = None, addresses: tuple[str, ...] = (), **settings):
    s = validate_host_data("box", {"model": "deepseek-r1-distill-qwen-7b", **settings}, environ=KEY)
    return firewall_rules(s, plan_host(s, gpus_from_profile("rtx-4090", 1), nodes), "box", in_cluster, addresses)


def test_no_list_no_firewall():
    assert _rules() is None


def test_open_webui_only_from_the_listed_networks_ssh_untouched():
    text = _rules(firewall_allow=["192.168.1.0/24", "fd00::/64", "10.0.0.7"]).text()
    assert "ip saddr { 192.168.1.0/24, 10.0.0.7/32 } tcp dport { 3000 } accept" in text
    assert "ip6 saddr { fd00::/64 } tcp dport { 3000 } accept" in text
    assert "tcp dport { 3000 } drop" in text
    assert "policy accept" in text and "22" not in text  # SSH and every other port are left alone
    assert "8000" not in text  # vLLM on loopback needs no rule


def test_an_exposed_api_is_filtered_too():
    text = _rules(firewall_allow=["192.168.1.0/24"], api_listen="0.0.0.0").text()
    assert "tcp dport { 3000, 8000 } drop" in text


def test_cluster_ports_only_between_the_nodes():
    cluster = Cluster("c", "box", ("w1",), "mp")
    settings = {"cluster": "c", "cluster_role": "head", "cluster_interface": "eth0", "model": "qwq-32b",
                "quantization": "bf16", "firewall_allow": ["192.168.1.0/24"]}
    text = _rules(2, cluster, ("10.9.0.2", "10.9.0.1"), **settings).text()
    assert "ip saddr { 10.9.0.1, 10.9.0.2 } tcp dport { 29501 } accept" in text
    assert "tcp dport { 29501 } drop" in text
    ray = _rules(2, Cluster("c", "box", ("w1",), "ray"), ("10.9.0.1",), **settings, cluster_backend="ray",
                 vllm_version="0.17.1").text()
    assert "tcp dport { 6379, 8265, 10001 } drop" in ray


def test_a_bad_network_is_refused():
    with pytest.raises(SettingsInvalid, match="'192.168.1.300/24' is not a network"):
        validate_host_data("box", {"firewall_allow": ["192.168.1.300/24"]}, environ={})
