"""Diagram (v1 /diagram): account -> VPC -> subnet -> instance -> volume, with NAT gateways, load
balancers and RDS, as a Node graph.

The Node graph reads raw field names, so both frames are built in PromQL as instant tables:
labels become the node fields (`id`, `title`, `subtitle`, `color`, `detail__*`) and the edge
fields (`id`, `source`, `target`); the nodes' value, the estimated monthly cost, becomes
`mainstat` through "Add field from calculation" (which names the new field; "Organize fields"
would only change the display name). Node ids are `account_id/region/resource_id` (accounts:
the account id) because RDS and Lambda names repeat across regions."""
from __future__ import annotations

from grafana_foundation_sdk.builders import nodegraph
from polo.collectors import RESOURCE_TYPES

from boards.common import (
    ACCOUNT,
    DATASOURCE,
    USD,
    account_var,
    environment_var,
    instant,
    neutral,
    new_dashboard,
    region_var,
    transformation,
    vpc_var,
)

IDENTITY = "account_id, region, resource_type, resource_id"


def placed(place: str) -> str:
    """The types that sit at `place` in the graph (polo.collectors: each type's Diagram), as a
    regex alternation."""
    return "|".join(t.name for t in RESOURCE_TYPES if t.diagram and t.diagram.place == place)


UNDER_ACCOUNT, IN_VPC, UNDER_PARENT = placed("account"), placed("vpc"), placed("parent")
COLORS = {"account": "#5794F2"} | {t.name: t.diagram.colour for t in RESOURCE_TYPES if t.diagram}
NODE_FIELDS = ["id", "title", "subtitle", "mainstat", "color", "detail__account", "detail__region",
               "detail__state", "detail__resource_id"]
EDGE_FIELDS = ["id", "source", "target"]
MAX_NODES = 1500  # the Node graph panel's limit

SCOPE = ACCOUNT
WHERE = SCOPE + ', region=~"$region"'


def in_vpc(types: str) -> str:
    return f'polo_resource_info{{{WHERE}, resource_type=~"{types}", vpc_id=~"$vpc"}}'


# Resources drawn in a VPC, as the parents of the types drawn under their parent (volumes).
PARENTS = f'label_replace({in_vpc(IN_VPC)}, "parent_id", "$1", "resource_id", "(.*)")'
ATTACHED = (f'(polo_resource_info{{{WHERE}, resource_type=~"{UNDER_PARENT}"}} '
            f"and on (account_id, region, parent_id) {PARENTS})")


def base(expr: str) -> str:
    """One series per resource with the labels the frames are built from."""
    return f"max by (account_id, account, region, resource_type, resource_id, name, state, parent_id) ({expr})"


VPCS = base(in_vpc(UNDER_ACCOUNT))
CHILDREN = base(f"{in_vpc(IN_VPC)} or {ATTACHED}")
NODES = f"{VPCS} or {CHILDREN}"
ACCOUNTS = (f"max by (account_id, account, environment) (polo_account_info{{{SCOPE}}} and on (account_id) "
            f"{in_vpc(UNDER_ACCOUNT)})")


def with_cost(expr: str, by: str) -> str:
    """`expr` with the value replaced by the estimated monthly cost (0 where not priced)."""
    return (f"(({expr}) * 0 + on ({by}) group_left () sum by ({by}) (polo_resource_monthly_cost_usd)) "
            f"or ({expr}) * 0")


def copy(expr: str, target: str, source: str) -> str:
    return f'label_replace({expr}, "{target}", "$1", "{source}", "(.*)")'


def colored(expr: str, kind_label: str) -> str:
    for kind, color in sorted(COLORS.items()):
        expr = f'label_replace({expr}, "color", "{color}", "{kind_label}", "{kind}")'
    return expr


def resource_nodes() -> str:
    nodes = label_join_title(with_cost(NODES, IDENTITY))
    nodes = f'label_join({nodes}, "id", "/", "account_id", "region", "resource_id")'
    nodes = f'label_join({nodes}, "subtitle", " ", "resource_type", "state")'
    for detail in ("account", "region", "state", "resource_id"):
        nodes = copy(nodes, f"detail__{detail}", detail)
    return colored(nodes, "resource_type")


def label_join_title(expr: str) -> str:
    """title = the Name, or the id where the resource has no name."""
    expr = f'label_join({expr}, "title", "|", "name", "resource_id")'
    expr = f'label_replace({expr}, "title", "$1", "title", "([^|]+)\\\\|.*")'
    return f'label_replace({expr}, "title", "$1", "title", "\\\\|(.*)")'


def account_nodes() -> str:
    nodes = with_cost(ACCOUNTS, "account_id")
    nodes = copy(copy(copy(nodes, "id", "account_id"), "title", "account"), "detail__account", "account")
    nodes = f'label_replace({nodes}, "subtitle", "account ($1)", "environment", "(.*)")'
    nodes = copy(nodes, "detail__resource_id", "account_id")
    return f'label_replace({nodes}, "color", "{COLORS["account"]}", "", "")'


def edges() -> str:
    # VPCs hang off their account; everything else off its parent in the same account and region.
    vpc_edges = (f'label_join({copy(VPCS, "source", "account_id")}, "target", "/", '
                 '"account_id", "region", "resource_id")')
    others = (f'label_join(label_join({CHILDREN}, "source", "/", "account_id", "region", "parent_id"), '
              f'"target", "/", "account_id", "region", "resource_id")')
    return f'label_join({vpc_edges} or {others}, "id", "->", "source", "target")'


def build():
    board = new_dashboard(
        "diagram", "Diagram", "The estate as a graph (v1's /diagram page): account -> VPC -> subnet -> "
        "instance -> volume, with NAT gateways, load balancers and RDS. Pick accounts and VPCs to stay under "
        f"the panel's {MAX_NODES:,} nodes (the whole demo estate is about 1,100).",
        "now-24h", ["inventory"], [environment_var(), account_var(), region_var(), vpc_var()])
    panel = (nodegraph.Panel().title("Estate").datasource(DATASOURCE).unit(USD).thresholds(neutral())
             .description("Nodes are accounts and resources, with their estimated monthly cost (list prices; 0 "
                          "where Polo does not price the type; an account's is the sum of its priced resources) as "
                          "the main stat. Colour by type: account blue, VPC purple, subnet light purple, instance "
                          "green, volume yellow, NAT gateway orange, load balancer red, RDS dark blue. Edges point "
                          "from parent to child.")
             .nodes(nodegraph.NodeOptions().main_stat_unit(USD))
             .span(24).height(24)
             .with_target(instant(f"{account_nodes()} or {resource_nodes()}", ref="nodes", table_format=True))
             .with_target(instant(edges(), ref="edges", table_format=True))
             .with_transformation(transformation("calculateField", {
                 "mode": "reduceRow", "reduce": {"reducer": "sum", "include": ["Value #nodes"]},
                 "alias": "mainstat", "replaceFields": False}, ref="nodes"))
             .with_transformation(transformation("filterFieldsByName", {
                 "include": {"names": NODE_FIELDS}}, ref="nodes"))
             .with_transformation(transformation("filterFieldsByName", {
                 "include": {"names": EDGE_FIELDS}}, ref="edges")))
    return board.with_panel(panel)

