"""The functions' botocore sessions skip the scan for which services exist, and still build
the same clients botocore's own loader builds."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader

from reservations import bootstrap

ENV = {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("service", bootstrap.SERVICES)
def test_each_known_service_builds_the_client_botocore_builds(service: str) -> None:
    ours = bootstrap.session().create_client(service)
    theirs = botocore.session.get_session().create_client(service)
    assert ours.meta.service_model.operation_names == theirs.meta.service_model.operation_names
    assert ours.meta.service_model.api_version == theirs.meta.service_model.api_version
    assert ours.meta.endpoint_url == theirs.meta.endpoint_url


@pytest.mark.parametrize("region", ["eu-west-1", "cn-north-1", "us-gov-west-1", "il-central-1"])
def test_endpoints_are_botocore_s_in_every_partition(region: str) -> None:
    for service in bootstrap.SERVICES:
        ours = bootstrap.session().create_client(service, region_name=region)
        theirs = botocore.session.get_session().create_client(service, region_name=region)
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url


@pytest.mark.parametrize(
    "name",
    ["endpoints", "partitions", "sdk-default-configuration", "dynamodb/2012-08-10/service-2"],
)
def test_model_files_decode_to_the_same_data_in_the_same_order(name: str) -> None:
    ours = bootstrap.KnownServicesLoader().load_data(name)
    theirs = Loader().load_data(name)
    assert ours == theirs
    assert list(ours) == list(theirs)
    assert bootstrap.PlainJSONFileLoader().load_file("/nonexistent/file") is None


def test_the_known_services_all_exist_in_botocore() -> None:
    assert set(bootstrap.SERVICES) <= set(Loader().list_available_services("service-2"))


def test_a_service_it_does_not_know_is_refused_as_botocore_refuses_an_unknown_one() -> None:
    with pytest.raises(UnknownServiceError):
        bootstrap.session().create_client("s3")


def test_aws_data_path_is_still_searched(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", f"{tmp_path}")
    loader = bootstrap.session().get_component("data_loader")
    assert str(tmp_path) in loader.search_paths
    assert loader.search_paths[-1] == Loader.BUILTIN_DATA_PATH


def test_the_functions_clients_come_from_such_a_session() -> None:
    for client in (bootstrap.dynamodb_client(), bootstrap.sqs_client(), bootstrap.events_client()):
        assert isinstance(client._loader, bootstrap.KnownServicesLoader)
