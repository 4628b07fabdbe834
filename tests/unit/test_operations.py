"""Polo's clients know only the operations it calls, and README's IAM policies list exactly those."""
import json
from pathlib import Path

import pytest

from polo.aws.operations import CALLED, called_operations_loader, cut_model, iam_action

REPO = Path(__file__).resolve().parents[2]


def readme_actions(*markers):
    readme = (REPO / "README.md").read_text()
    actions = set()
    for marker in markers:
        block = readme.split(f"<!-- iam-policy:{marker} -->", 1)[1]
        policy = json.loads(block.split("```json", 1)[1].split("```", 1)[0])
        actions |= {action for statement in policy["Statement"] for action in statement["Action"]}
    return actions


def test_the_readme_policies_grant_exactly_the_operations_polo_calls():
    called = {iam_action(service, op) for service, operations in CALLED.items() for op in operations}
    assert called == readme_actions("account", "payer", "organizations")


def test_a_client_has_a_method_for_each_called_operation_and_no_other():
    import botocore.session

    session = botocore.session.get_session()
    session.register_component("data_loader", called_operations_loader())
    ec2 = session.create_client("ec2", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    assert set(ec2.meta.service_model.operation_names) == CALLED["ec2"]
    assert hasattr(ec2, "describe_instances") and not hasattr(ec2, "run_instances")
    assert ec2.can_paginate("describe_instances")
    reply = ec2.meta.service_model.operation_model("DescribeInstances").output_shape
    assert "Reservations" in reply.members  # the shapes a reply needs are all there
    assert ec2.exceptions.ClientError  # exception classes still build


def test_every_shape_a_kept_operation_reaches_is_kept():
    model = {"metadata": {"endpointPrefix": "x"},
             "operations": {"Read": {"input": {"shape": "ReadIn"}, "output": {"shape": "ReadOut"},
                                     "errors": [{"shape": "Denied"}]},
                            "Write": {"input": {"shape": "WriteIn"}}},
             "shapes": {"ReadIn": {"type": "structure", "members": {"Ids": {"shape": "Ids"}}},
                        "Ids": {"type": "list", "member": {"shape": "Id"}}, "Id": {"type": "string"},
                        "ReadOut": {"type": "structure", "members": {"Tags": {"shape": "Tags"}}},
                        "Tags": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Value"}},
                        "Key": {"type": "string"}, "Value": {"type": "string"},
                        "Denied": {"type": "structure", "exception": True, "members": {}},
                        "Busy": {"type": "structure", "exception": True, "members": {}},
                        "WriteIn": {"type": "structure", "members": {"Blob": {"shape": "Blob"}}},
                        "Blob": {"type": "blob"}}}
    cut = cut_model(model, frozenset({"Read"}))
    assert set(cut["operations"]) == {"Read"}
    assert set(cut["shapes"]) == {"ReadIn", "Ids", "Id", "ReadOut", "Tags", "Key", "Value", "Denied", "Busy"}
    with pytest.raises(ValueError, match="x has no operation Wrte"):
        cut_model(model, frozenset({"Wrte"}))



def test_threads_meeting_a_cold_loader_load_each_model_once(monkeypatch):
    """Every sweep thread's first paginator asks the shared loader at once: each used to scan
    botocore's data folders (hundreds of services) for the same answer, most of a small
    estate's first sweep."""
    import os
    import threading
    import time

    listings = []
    listdir = os.listdir
    paused = threading.local()

    def slow_listdir(path):
        listings.append(path)
        if not getattr(paused, "once", False):  # every thread is inside the scan before one ends it
            paused.once = True
            time.sleep(0.05)
        return listdir(path)

    monkeypatch.setattr(os, "listdir", slow_listdir)
    called_operations_loader().load_service_model("ec2", "paginators-1")
    one_thread = len(listings)
    listings.clear()
    loader = called_operations_loader()
    start = threading.Barrier(8)
    models = []

    def first_paginator():
        start.wait()
        models.append(loader.load_service_model("ec2", "paginators-1"))

    threads = [threading.Thread(target=first_paginator) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 8 and all(model is models[0] for model in models)
    assert one_thread > 0 and len(listings) == one_thread
