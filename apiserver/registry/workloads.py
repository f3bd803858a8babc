"""Strategies of the workload kinds: apps/v1 and batch/v1.

Defaults mirror k8s pkg/apis/apps/v1/defaults.go and pkg/apis/batch/v1/defaults.go;
the status/spec split and generation tracking mirror each kind's
``pkg/registry/<group>/<kind>/strategy.go``. What they share (a pod template,
defaulted like a pod spec; a selector; ``generation`` counting spec changes) is the
:class:`TemplateStrategy` base.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery import cron, validation
from apimachinery import field_errors as fe
from apimachinery.field_errors import FieldError

from .podspec import default_pod_spec, validate_pod_spec
from .strategy import Object, Strategy


def _rolling(spec: dict[str, Any], key: str, defaults: dict[str, Any]) -> None:
    strategy = spec.setdefault(key, {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        for k, v in defaults.items():
            ru.setdefault(k, v)


class TemplateStrategy(Strategy):
    """A kind with ``spec.template`` (a pod template) and ``spec.selector``."""

    has_status = True
    tracks_generation = True
    needs_selector = True
    default_restart_policy = "Always"

    def default(self, obj: Object) -> None:
        spec = obj.setdefault("spec", {})
        template = spec.setdefault("template", {})
        if isinstance(template, dict):
            template.setdefault("metadata", {})
            pod_spec = template.setdefault("spec", {})
            if isinstance(pod_spec, dict):
                pod_spec.setdefault("restartPolicy", self.default_restart_policy)
                default_pod_spec(pod_spec)

    def initial_status(self, obj: Object) -> Object | None:
        return {}

    def validate(self, obj: Object) -> list[FieldError]:
        errs = super().validate(obj)
        spec = obj.get("spec") or {}
        template = spec.get("template") or {}
        errs += validate_pod_spec(template.get("spec"), "spec.template.spec")
        selector = spec.get("selector")
        if self.needs_selector:
            if not selector:
                errs.append(fe.required("spec.selector", ""))
            elif isinstance(selector, dict) and selector.get("matchLabels"):
                labels = (template.get("metadata") or {}).get("labels") or {}
                if any(labels.get(k) != v for k, v in selector["matchLabels"].items()):
                    errs.append(
                        fe.invalid(
                            "spec.template.metadata.labels",
                            labels,
                            "`selector` does not match template `labels`",
                        )
                    )
        replicas = spec.get("replicas")
        if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
            errs.append(fe.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = super().validate_update(new, old)
        if self.needs_selector and (new.get("spec") or {}).get("selector") != (old.get("spec") or {}).get(
            "selector"
        ):
            errs.append(
                fe.invalid("spec.selector", (new.get("spec") or {}).get("selector"), "field is immutable")
            )
        return errs


class DeploymentStrategy(TemplateStrategy):
    def default(self, obj: Object) -> None:
        super().default(obj)
        spec = obj["spec"]
        spec.setdefault("replicas", 1)
        _rolling(spec, "strategy", {"maxUnavailable": "25%", "maxSurge": "25%"})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)


class ReplicaSetStrategy(TemplateStrategy):
    def default(self, obj: Object) -> None:
        super().default(obj)
        obj["spec"].setdefault("replicas", 1)

    def initial_status(self, obj: Object) -> Object | None:
        return {"replicas": 0}


class StatefulSetStrategy(TemplateStrategy):
    def default(self, obj: Object) -> None:
        super().default(obj)
        spec = obj["spec"]
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        _rolling(spec, "updateStrategy", {"partition": 0})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"}
        )

    def initial_status(self, obj: Object) -> Object | None:
        return {"replicas": 0, "availableReplicas": 0}


#: apps/v1 has no spec.templateGeneration; the v1 conversion keeps it in this annotation.
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


class DaemonSetStrategy(TemplateStrategy):
    """pkg/registry/apps/daemonset/strategy.go: ``templateGeneration`` counts template changes
    (1 on create, +1 when the template changes); the controller labels pods with it
    (``pod-template-generation``)."""

    def prepare_for_create(self, obj: Object) -> None:
        super().prepare_for_create(obj)
        annotations = obj["metadata"].setdefault("annotations", {})
        given = str(annotations.get(TEMPLATE_GENERATION, ""))
        annotations[TEMPLATE_GENERATION] = given if given.isdigit() and int(given) >= 1 else "1"

    def prepare_for_update(self, new: Object, old: Object) -> None:
        super().prepare_for_update(new, old)
        defaulted = copy.deepcopy(new)
        self.default(defaulted)  # compare templates as they will be stored
        old_generation = str((old["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION, ""))
        generation = int(old_generation) if old_generation.isdigit() else 1
        if (defaulted.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
            generation += 1
        new["metadata"].setdefault("annotations", {})[TEMPLATE_GENERATION] = str(generation)

    def default(self, obj: Object) -> None:
        super().default(obj)
        spec = obj["spec"]
        _rolling(spec, "updateStrategy", {"maxUnavailable": 1, "maxSurge": 0})
        spec.setdefault("revisionHistoryLimit", 10)

    def initial_status(self, obj: Object) -> Object | None:
        return {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }


class JobStrategy(TemplateStrategy):
    """pkg/registry/batch/job/strategy.go: the selector is generated from the job's uid."""

    needs_selector = False
    default_restart_policy = "Never"

    def prepare_for_create(self, obj: Object) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        if not spec.get("manualSelector"):
            uid = obj["metadata"]["uid"]
            name = obj["metadata"].get("name", "")
            labels = {
                "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": uid,
                "job-name": name,
            }
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
            tmeta["labels"] = {**(tmeta.get("labels") or {}), **labels}

    def default(self, obj: Object) -> None:
        super().default(obj)
        spec = obj["spec"]
        if spec.get("completions") is None and spec.get("parallelism") is None:
            spec["completions"] = 1  # SetDefaults_Job: a plain job runs one pod to completion
        if spec.get("parallelism") is None:
            spec["parallelism"] = 1
        # with backoffLimitPerIndex, the Job-wide limit is off unless asked for
        spec.setdefault("backoffLimit", 6 if spec.get("backoffLimitPerIndex") is None else 2**31 - 1)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault(
            "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
        )

    def validate(self, obj: Object) -> list[FieldError]:
        """The Job-specific parts of validation.go ValidateJob (completion mode, per-index
        back-off, pod failure policy)."""
        errs = super().validate(obj)
        spec = obj.get("spec") or {}
        mode = spec.get("completionMode")
        for f in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if isinstance(spec.get(f), int) and spec[f] < 0:
                errs.append(fe.invalid(f"spec.{f}", spec[f], "must be greater than or equal to 0"))
        max_failed = spec.get("maxFailedIndexes")
        if max_failed is not None and spec.get("backoffLimitPerIndex") is None:
            errs.append(fe.required("spec.backoffLimitPerIndex", "when maxFailedIndexes is specified"))
        if mode not in ("NonIndexed", "Indexed"):
            errs.append(fe.not_supported("spec.completionMode", mode, ["NonIndexed", "Indexed"]))
        if mode == "Indexed":
            if spec.get("completions") is None:
                errs.append(fe.required("spec.completions", "when completion mode is Indexed"))
            for f in ("completions", "parallelism"):
                if isinstance(spec.get(f), int) and spec[f] > MAX_INDEXED_JOB_SIZE:
                    errs.append(
                        fe.invalid(
                            f"spec.{f}",
                            spec[f],
                            f"must be less than or equal to {MAX_INDEXED_JOB_SIZE} when completion mode is Indexed",
                        )
                    )
            completions = spec.get("completions")
            if isinstance(max_failed, int) and isinstance(completions, int) and max_failed > completions:
                errs.append(
                    fe.invalid(
                        "spec.maxFailedIndexes", max_failed, "must be less than or equal to completions"
                    )
                )
            if isinstance(max_failed, int) and max_failed > MAX_INDEXED_JOB_SIZE:
                errs.append(
                    fe.invalid(
                        "spec.maxFailedIndexes",
                        max_failed,
                        f"must be less than or equal to {MAX_INDEXED_JOB_SIZE}",
                    )
                )
        else:
            for f in ("backoffLimitPerIndex", "maxFailedIndexes"):
                if spec.get(f) is not None:
                    errs.append(fe.invalid(f"spec.{f}", spec[f], "requires indexed completion mode"))
        policy = spec.get("podFailurePolicy")
        if policy is not None:
            errs += _validate_pod_failure_policy(policy, spec)
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = super().validate_update(new, old)
        mode = (new.get("spec") or {}).get("completionMode")
        if mode != (old.get("spec") or {}).get("completionMode"):
            errs.append(fe.invalid("spec.completionMode", mode, "field is immutable"))
        per_index = (new.get("spec") or {}).get("backoffLimitPerIndex")
        if per_index != (old.get("spec") or {}).get("backoffLimitPerIndex"):
            errs.append(fe.invalid("spec.backoffLimitPerIndex", per_index, "field is immutable"))
        return errs


#: validation.go maxParallelismForIndexedJob / maxCompletionsForIndexedJob (simplified: one bound).
MAX_INDEXED_JOB_SIZE = 100_000
_POLICY_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"]


def _validate_pod_failure_policy(policy: Any, spec: dict[str, Any]) -> list[FieldError]:
    """validatePodFailurePolicy: restartPolicy Never, each rule one requirement, known values."""
    errs: list[FieldError] = []
    restart = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if restart != "Never":
        errs.append(
            fe.invalid(
                "spec.template.spec.restartPolicy",
                restart,
                'only "Never" is supported when podFailurePolicy is specified',
            )
        )
    for i, rule in enumerate((policy or {}).get("rules") or []):
        path = f"spec.podFailurePolicy.rules[{i}]"
        action = rule.get("action")
        if action not in _POLICY_ACTIONS:
            errs.append(fe.not_supported(f"{path}.action", action, _POLICY_ACTIONS))
        elif action == "FailIndex" and spec.get("backoffLimitPerIndex") is None:
            errs.append(fe.invalid(f"{path}.action", action, "requires the backoffLimitPerIndex to be set"))
        on_codes, on_conditions = rule.get("onExitCodes"), rule.get("onPodConditions")
        if (on_codes is None) == (on_conditions is None):
            errs.append(fe.invalid(path, "", "specifying one of onExitCodes and onPodConditions is required"))
        if on_codes is not None:
            operator = on_codes.get("operator")
            if operator not in ("In", "NotIn"):
                errs.append(fe.not_supported(f"{path}.onExitCodes.operator", operator, ["In", "NotIn"]))
            values = on_codes.get("values") or []
            if not values:
                errs.append(fe.required(f"{path}.onExitCodes.values", "at least one value is required"))
            if operator == "In" and 0 in values:
                errs.append(
                    fe.invalid(
                        f"{path}.onExitCodes.values[{values.index(0)}]",
                        0,
                        "must not be 0 for the In operator",
                    )
                )
        for j, pattern in enumerate(on_conditions or []):
            if not pattern.get("type"):
                errs.append(fe.required(f"{path}.onPodConditions[{j}].type", ""))
    return errs


class CronJobStrategy(Strategy):
    has_status = True
    tracks_generation = True

    def default(self, obj: Object) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
        template = job.setdefault("template", {})
        template.setdefault("metadata", {})
        pod_spec = template.setdefault("spec", {})
        if isinstance(pod_spec, dict):
            pod_spec.setdefault("restartPolicy", "Never")
            default_pod_spec(pod_spec)
        job.setdefault("backoffLimit", 6)

    def initial_status(self, obj: Object) -> Object | None:
        return {}

    def validate(self, obj: Object) -> list[FieldError]:
        return self._validate(obj, allow_tz_in_schedule=False)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        # A schedule that already had TZ= may keep it (CronJobValidationOptions).
        allow_tz = "TZ" in str((old.get("spec") or {}).get("schedule") or "")
        errs = self._validate(new, allow_tz_in_schedule=allow_tz)
        errs += validation.validate_object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
        return errs

    def _validate(self, obj: Object, allow_tz_in_schedule: bool) -> list[FieldError]:
        errs = super().validate(obj)
        spec = obj.get("spec") or {}
        if not spec.get("schedule"):
            errs.append(fe.required("spec.schedule", ""))
        else:
            errs += validate_schedule_format(
                str(spec["schedule"]), allow_tz_in_schedule, spec.get("timeZone")
            )
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        errs += validate_pod_spec(template.get("spec"), "spec.jobTemplate.spec.template.spec")
        return errs


def validate_schedule_format(schedule: str, allow_tz_in_schedule: bool, time_zone: Any) -> list[FieldError]:
    """``validateScheduleFormat``: what ``cron.ParseStandard`` accepts (apimachinery/cron.py
    plays robfig/cron's part), and no ``TZ=`` / ``CRON_TZ=`` in a new schedule."""
    errs: list[FieldError] = []
    try:
        cron.parse(schedule)
    except cron.CronError as err:
        errs.append(fe.invalid("spec.schedule", schedule, str(err)))
    if allow_tz_in_schedule and "TZ" in schedule and time_zone is not None:
        errs.append(
            fe.invalid(
                "spec.schedule", schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule"
            )
        )
    elif not allow_tz_in_schedule and "TZ" in schedule:
        errs.append(
            fe.invalid(
                "spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
            )
        )
    return errs
