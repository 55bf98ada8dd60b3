"""The alert rules Prometheus evaluates on every host it runs on; each says what is wrong and what to do.

The README's alert table is this list; ``tests/monitoring/alerts.test.yml`` proves each with ``promtool test rules``.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Alert:
    """One alert rule: fires when ``expr`` has held for ``for_``; ``fix`` is the annotation an operator acts on."""

    name: str
    expr: str
    for_: str
    severity: str
    summary: str  # may use {{ $labels.x }} and {{ $value }}
    fix: str


ALERTS: tuple[Alert, ...] = (
    Alert("EngineDown", 'up{job="engine"} == 0', "1m", "critical",
          "{{ $labels.unit }} on {{ $labels.host }} does not answer its metrics endpoint",
          "Run `reasoning-stack status` and `journalctl -u {{ $labels.unit }}` on the host; re-run the deploy to "
          "start it again."),
    Alert("KvCacheFull", "vllm:kv_cache_usage_perc > 0.9", "5m", "warning",
          "{{ $labels.unit }} on {{ $labels.host }}: KV cache {{ $value | humanizePercentage }} full",
          "Requests queue or are preempted: lower max_num_seqs or max_model_len, use kv_cache_dtype fp8, or add "
          "a GPU (see `reasoning-stack plan`)."),
    Alert("Preempting", "rate(vllm:num_preemptions_total[5m]) > 0", "5m", "warning",
          "{{ $labels.unit }} on {{ $labels.host }} preempts requests",
          "The KV cache runs out mid-generation and vLLM recomputes: lower max_num_seqs, raise "
          "gpu_memory_utilization, or use kv_cache_dtype fp8."),
    Alert("QueueGrowing", "vllm:num_requests_waiting > 0 and deriv(vllm:num_requests_waiting[10m]) > 0", "10m",
          "warning",
          "{{ $labels.unit }} on {{ $labels.host }}: {{ $value }} requests waiting, and more each minute",
          "More requests arrive than the instance finishes: add an instance (extra_models, data parallel) or "
          "shorten outputs (max_tokens)."),
    Alert("ReasoningCutOff",
          'sum by (host, unit) (rate(vllm:request_success_total{finished_reason="length"}[30m])) / '
          "sum by (host, unit) (rate(vllm:request_success_total[30m])) > 0.1", "15m", "warning",
          "{{ $labels.unit }} on {{ $labels.host }}: {{ $value | humanizePercentage }} of requests stop at "
          "max_tokens",
          "Reasoning traces are cut off before the answer: raise the clients' max_tokens (Open WebUI's "
          "per-model max_tokens) or max_model_len."),
    Alert("GpuXidError", "DCGM_FI_DEV_XID_ERRORS > 0", "0m", "critical",
          "GPU {{ $labels.gpu }} on {{ $labels.host }} reported XID error {{ $value }}",
          "Look the XID up in NVIDIA's XID catalogue and `journalctl -k | grep -i xid` on the host; 48, 63, 64, "
          "74, 79, 94 and 95 usually need a reset or a drained GPU."),
    Alert("GpuEccError",
          "increase(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL[10m]) > 0 or DCGM_FI_DEV_ROW_REMAP_FAILURE > 0", "0m", "critical",
          "GPU {{ $labels.gpu }} on {{ $labels.host }} has uncorrectable memory errors",
          "Drain the GPU (gpu_indices without it) and reset it (`nvidia-smi -r`); a row-remap failure needs "
          "the GPU replaced."),
    Alert("DiskFilling",
          'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / '
          'node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"} < 0.1', "10m", "warning",
          "{{ $labels.mountpoint }} on {{ $labels.host }} is {{ $value | humanizePercentage }} free",
          "Model weights need room: remove models no longer served from the Hugging Face cache (`hf cache "
          "delete`), or move data_dir to a larger disk."),
    Alert("ExporterDown", 'up{job=~"node|gpu"} == 0', "5m", "warning",
          "the {{ $labels.job }} exporter on {{ $labels.host }} does not answer",
          "Its figures and alerts are missing: `systemctl status prometheus-node-exporter reasoning-dcgm-exporter` "
          "on the host; on a cluster node, check the firewall lets the head in."),
)


def alert_rules_text() -> str:
    """The rules file Prometheus loads (``rule_files``)."""
    rules = [{"alert": a.name, "expr": a.expr, "for": a.for_, "labels": {"severity": a.severity},
              "annotations": {"summary": a.summary, "fix": a.fix}} for a in ALERTS]
    return ("# Managed by reasoning-stack: edits are replaced on the next deploy.\n"
            + yaml.safe_dump({"groups": [{"name": "reasoning-stack", "rules": rules}]}, sort_keys=False, width=110))
