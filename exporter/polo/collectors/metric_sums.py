"""CloudWatch metrics summed over the last 7 days, for the collectors that judge traffic (NAT
gateways' bytes out, SageMaker endpoints' invocations). Not a collector itself.

One paged GetMetricData call per 500 series (its limit), daily Sum datapoints added up per key;
several series may share a key (an endpoint's variants). No datapoints is 0.0. A failed call,
an AWS refusal or a transport failure such as a timeout, gives None for every key, never 0:
unknown traffic must not look idle. The failure is logged as a warning.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Hashable, Mapping, Sequence, TypeVar

from polo.collectors.base import paginate
from polo.errors import error_code

WINDOW = dt.timedelta(days=7)
QUERIES_PER_CALL = 500  # GetMetricData's limit
log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)


def weekly_sums(cloudwatch, namespace: str, metric_name: str,
                series: Sequence[tuple[K, Mapping[str, str]]], what: str,
                now: dt.datetime | None = None) -> dict[K, float | None]:
    """key -> `metric_name` summed over the last 7 days across the key's series, each series
    given as its dimensions ({name: value}); every key None on error. `what` names the
    resources in the warning."""
    from botocore.exceptions import BotoCoreError, ClientError  # here: the declarations load no AWS SDK

    if not series:
        return {}
    end = now or dt.datetime.now(dt.timezone.utc)
    totals: dict[K, float] = {key: 0.0 for key, _ in series}
    try:
        for start in range(0, len(series), QUERIES_PER_CALL):
            batch = {f"m{start + n}": item for n, item in enumerate(series[start:start + QUERIES_PER_CALL])}
            queries = [{
                "Id": query_id,
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": metric_name,
                               "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions.items()]},
                    "Period": 86400,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            } for query_id, (_, dimensions) in batch.items()]
            for result in paginate(cloudwatch, "get_metric_data", "MetricDataResults",
                                   MetricDataQueries=queries, StartTime=end - WINDOW, EndTime=end):
                item = batch.get(result.get("Id", ""))
                if item is not None:
                    totals[item[0]] += float(sum(result.get("Values") or ()))
    except (ClientError, BotoCoreError) as exc:  # AWS refusals and transport failures alike
        log.warning("CloudWatch GetMetricData for %s failed: %s", what, error_code(exc))
        return dict.fromkeys(totals)
    return dict(totals)
