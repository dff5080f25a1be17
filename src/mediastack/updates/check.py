"""Check without pulling: is each running service's image still what its tag points at?

Control flow: rendered projects -> the running container of each service (engine) -> the id of
the image it runs (compose's ``com.docker.compose.image`` label; one batched ``docker container
inspect`` for containers without it) and that image's ``RepoDigests`` (one batched ``docker image
inspect``) -> for each
image pulled from a registry, one HEAD for the tag's current digest (identical references are
asked once) -> compare. Up to date when the registry's digest is among the running image's
``RepoDigests`` for that repository. Nothing is pulled; no manifest body or layer is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from mediastack.adapters.engine import ContainerInfo, ContainerReader
from mediastack.adapters.registry import ManifestDigest, RegistryError
from mediastack.stack.rendered import RenderedProject
from mediastack.stack.status import project_containers
from mediastack.updates.local_images import LocalImage, LocalImages
from mediastack.updates.model import CheckResult, CheckStatus, Policy, ServiceImage, ServiceKey
from mediastack.updates.reference import (
    ImageReference,
    parse_image_reference,
    repository_digests,
)

MAXIMUM_PARALLEL_REQUESTS = 8
COMPOSE_IMAGE_LABEL = "com.docker.compose.image"

DigestLookup = Callable[[str, str, str], ManifestDigest]
"""(api host, repository, tag) -> digest; ``RegistryClient.manifest_digest``."""


@dataclass(frozen=True)
class CheckTarget:
    """A rendered project to check, and the update policy of each of its services."""

    project: RenderedProject
    policies: Mapping[str, Policy]


def running_service_images(
    targets: Iterable[CheckTarget],
    engine: ContainerReader,
    images: LocalImages,
    services: frozenset[str] = frozenset(),
) -> list[ServiceImage]:
    """Return every running service of ``targets`` (only ``services`` when given) with the
    image it runs, in project then file order. Services without a running container, or whose
    image reference in the compose file is missing, are left out."""
    found: list[tuple[CheckTarget, str, str, str]] = []
    image_ids: dict[str, str] = {}
    for target in targets:
        containers = project_containers(engine, target.project)
        for service in target.project.services:
            container = containers.get(service.name)
            wanted = not services or service.name in services
            if wanted and container is not None and container.running and service.image:
                found.append((target, service.name, container.id, service.image))
                image_ids.update(_labelled_image(container))
    unlabelled = [container_id for _, _, container_id, _ in found if container_id not in image_ids]
    image_ids.update(images.container_image_ids(unlabelled))
    local = images.inspect_images(sorted(set(image_ids.values())))
    return [
        _service_image(target, name, container_id, reference, image_ids, local)
        for target, name, container_id, reference in found
        if container_id in image_ids
    ]


def _labelled_image(container: ContainerInfo) -> dict[str, str]:
    """Compose (2.x) labels every container with the id of the image it was created from;
    without that label the image id costs a ``docker container inspect``."""
    image_id = container.labels.get(COMPOSE_IMAGE_LABEL, "")
    return {container.id: image_id} if image_id.startswith("sha256:") else {}


def _service_image(
    target: CheckTarget,
    name: str,
    container_id: str,
    reference_text: str,
    image_ids: Mapping[str, str],
    local: Mapping[str, LocalImage],
) -> ServiceImage:
    project = target.project
    reference = _parsed(reference_text)
    image_id = image_ids[container_id]
    image = local.get(image_id)
    repo_digests = image.repo_digests if image is not None else ()
    rendered = project.service(name)
    return ServiceImage(
        key=ServiceKey(project.stack, project.project_name, name),
        container_id=container_id,
        reference_text=reference_text,
        reference=reference,
        image_id=image_id,
        local_digests=repository_digests(reference, repo_digests) if reference else frozenset(),
        policy=target.policies.get(name, Policy.AUTO),
        namespace_owner=rendered.namespace_owner if rendered else None,
        namespace_dependents=tuple(project.namespace_dependents(name)),
    )


def _parsed(text: str) -> ImageReference | None:
    try:
        return parse_image_reference(text)
    except ValueError:
        return None


def check_images(images: Sequence[ServiceImage], lookup: DigestLookup) -> list[CheckResult]:
    """Given running services and a digest lookup, return one CheckResult per service, in the
    same order. Each distinct (registry, repository, tag) is asked once, in parallel (at most
    8 at a time); services not pulled from a registry, or pinned by digest, cost no request."""
    wanted = {_lookup_key(image) for image in images if _needs_lookup(image)}
    answers = _look_up_all(sorted(wanted), lookup)
    return [_result(image, answers) for image in images]


LookupKey = tuple[str, str, str]


def _needs_lookup(image: ServiceImage) -> bool:
    reference = image.reference
    return reference is not None and not reference.pinned_by_digest and bool(image.local_digests)


def _lookup_key(image: ServiceImage) -> LookupKey:
    reference = image.reference
    assert reference is not None and reference.tag is not None
    return (reference.api_host, reference.repository, reference.tag)


def _look_up_all(
    keys: Sequence[LookupKey], lookup: DigestLookup
) -> dict[LookupKey, ManifestDigest | RegistryError]:
    def one(key: LookupKey) -> ManifestDigest | RegistryError:
        try:
            return lookup(*key)
        except RegistryError as error:
            return error

    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAXIMUM_PARALLEL_REQUESTS, len(keys))) as pool:
        return dict(zip(keys, pool.map(one, keys), strict=True))


def _result(
    image: ServiceImage, answers: Mapping[LookupKey, ManifestDigest | RegistryError]
) -> CheckResult:
    reference = image.reference
    if reference is None:
        return CheckResult(image, CheckStatus.ERROR, detail="not a valid image reference")
    if reference.pinned_by_digest:
        return CheckResult(image, CheckStatus.PINNED_BY_DIGEST, detail="pinned by digest")
    if not image.local_digests:
        detail = f"never pulled from {reference.registry}: built or loaded locally"
        return CheckResult(image, CheckStatus.LOCAL_ONLY, detail=detail)
    answer = answers[_lookup_key(image)]
    if isinstance(answer, RegistryError):
        return CheckResult(image, CheckStatus.ERROR, detail=answer.message)
    if answer.digest in image.local_digests:
        return CheckResult(image, CheckStatus.UP_TO_DATE, answer.digest)
    return CheckResult(image, CheckStatus.OUTDATED, answer.digest)
