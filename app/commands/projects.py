"""`engram projects list|create|rename|move|delete`: the chat list's project menu, in a
terminal. A project is a memory scope: what is said in its chats is read only there."""
from __future__ import annotations

from app.cli import print_json
from core.services import project_ops


def register(sub) -> None:
    p = sub.add_parser("projects", help="list, create, rename or delete projects; move a chat "
                                        "into one")
    inner = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = inner.add_parser("list", help="projects, with how many chats each holds")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    create = inner.add_parser("create", help="a new, empty project")
    create.add_argument("name")
    create.set_defaults(func=run_create)
    rename = inner.add_parser("rename", help="give a project another name")
    rename.add_argument("id", help="the project's id (or its current name)")
    rename.add_argument("name")
    rename.set_defaults(func=run_rename)
    move = inner.add_parser(
        "move", help="move a chat into a project (its memories are then read only there) or, "
                     "with --none, out of any")
    move.add_argument("conversation_id")
    where = move.add_mutually_exclusive_group(required=True)
    where.add_argument("project_id", nargs="?", help="the project's id (or its name)")
    where.add_argument("--none", action="store_true", help="into no project: memories global")
    move.set_defaults(func=run_move)
    delete = inner.add_parser(
        "delete", help="delete a project: its chats stay, in no project, their memories global")
    delete.add_argument("id", help="the project's id (or its name)")
    delete.set_defaults(func=run_delete)


def run_list(args, ctx) -> int:
    eng = ctx.engram
    rows = [(p, eng.steering.conversation_count(p.id)) for p in eng.steering.projects()]
    if args.json:
        print_json([{"id": p.id, "name": p.name, "source": p.source, "chats": n}
                    for p, n in rows])
        return 0
    if not rows:
        print("no projects yet (engram projects create NAME)")
    for p, n in rows:
        origin = "" if p.source == "engram" else f"  (imported from {p.source})"
        print(f"{p.id}  {p.name}  {n} chat{'' if n == 1 else 's'}{origin}")
    return 0


def run_create(args, ctx) -> int:
    project, _changes = project_ops.create_project(ctx.engram, args.name)
    print(f"created project {project.id}  {project.name}")
    return 0


def run_rename(args, ctx) -> int:
    project = project_ops.find_project(ctx.engram, args.id)
    print(project_ops.rename_project(ctx.engram, project.id, args.name).description)
    return 0


def run_move(args, ctx) -> int:
    target = None if args.none else project_ops.find_project(ctx.engram, args.project_id).id
    print(project_ops.move_conversation(ctx.engram, args.conversation_id, target).description)
    return 0


def run_delete(args, ctx) -> int:
    project = project_ops.find_project(ctx.engram, args.id)
    print(project_ops.delete_project(ctx.engram, project.id).description)
    return 0
