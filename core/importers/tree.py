"""Putting archive nodes into tree order (parents before children), whatever their state.

Real exports hold nodes whose parent is missing, children that point nowhere, and nodes with
nothing in them; cycles must not hang the import. `walk` handles all of it iteratively.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable


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
