"""Putting archive nodes into tree order (parents before children), whatever their state.

Real exports hold nodes whose parent is missing, children that point nowhere, and nodes with
nothing in them; cycles must not hang the import. `walk` handles all of it iteratively.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from core.importers.model import Skipped
from core.importers.text import clean


def walk(ids: Iterable[str], parent_of: Callable[[str], str | None],
         children_of: Callable[[str], list[str]]) -> tuple[list[str], list[str], list[str]]:
    """Depth-first order from every root, siblings in their listed order.

    A node is a root when it has no parent or its parent is unknown. Children listed by a
    node but unknown are returned as `dangling`; nodes not reachable from any root (cycles)
    as `unreachable`. Returns (order, dangling, unreachable).
    """
    known = list(dict.fromkeys(ids))
    known_set = set(known)
    listed: dict[str, list[str]] = {}
    dangling: list[str] = []
    for node in known:
        kids = []
        for child in children_of(node):
            if child in known_set:
                if parent_of(child) == node:
                    kids.append(child)
            else:
                dangling.append(child)
        listed[node] = kids
    # Children that name their parent but that the parent does not list: keep them too.
    listed_sets = {node: set(kids) for node, kids in listed.items()}
    for node in known:
        parent = parent_of(node)
        if parent in known_set and node not in listed_sets[parent]:
            listed[parent].append(node)
            listed_sets[parent].add(node)
    roots = [n for n in known if parent_of(n) not in known_set]
    order: list[str] = []
    seen: set[str] = set()
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(reversed([c for c in listed[node] if c not in seen]))
    unreachable = [n for n in known if n not in seen]
    return order, dangling, unreachable


def walk_linked(raw: dict, parent_key: str, children_key: str, label: str,
                what: str) -> tuple[dict[str, dict], list[str], list[Skipped]]:
    """Tree order for a mapping of id -> node dict whose links are `parent_key` (an id) and
    `children_key` (a list of ids), as ChatGPT's `mapping` and Open WebUI's `history` are.

    Returns (nodes, order, skipped): the well-formed nodes by cleaned id, their depth-first
    order, and a Skipped for each malformed node, dangling child and unreachable node
    (`what` names a node in those reasons: "node", "message").
    """
    skipped: list[Skipped] = []
    nodes: dict[str, dict] = {}
    for key, node in raw.items():
        if isinstance(node, dict):
            nodes[clean(str(key))] = node
        else:
            skipped.append(Skipped(f"malformed {what}", label, str(key)))

    def parent_of(node_id: str) -> str | None:
        parent = nodes[node_id].get(parent_key)
        return parent if isinstance(parent, str) else None

    def children_of(node_id: str) -> list[str]:
        kids = nodes[node_id].get(children_key)
        return [k for k in kids if isinstance(k, str)] if isinstance(kids, list) else []

    order, dangling, unreachable = walk(nodes, parent_of, children_of)
    skipped += [Skipped(f"child points to a missing {what}", label, d) for d in dangling]
    skipped += [Skipped(f"{what} unreachable from the root (cycle)", label, u)
                for u in unreachable]
    return nodes, order, skipped
