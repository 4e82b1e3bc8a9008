"""Message: find contacts, read and answer messages, message groups.

The world
---------
A :class:`MessagingWorld` holds eight contacts (names drawn from :data:`CONTACT_NAMES`, each
with a world-specific ``CT-XXXXXX`` id), the moment "now" of the world and a ``seed``. Each
contact's inbox (3 to 6 messages they sent, newest first) and their phone number are
pre-generated in the sense that they are fixed by the world: they are a pure function of
``seed`` and the contact, derived from a hash when asked for (:func:`_inbox`), so a world
costs about ten microseconds to build.

The tools
---------
======================= ======= =======================================================
``find_contact``         1       a contact by (full, first or last) name
``list_messages``        1       a contact's latest messages to you, newest first
``send_message``         1       a direct message to a contact id
``reply_to_message``     1       a reply to a message id from list_messages
``create_group``         2       a group chat of two or more contact ids
``send_group_message``   1       a message to a group id from create_group
======================= ======= =======================================================

(the middle column is the declared latency in rounds.)

State
-----
The inbox (what contacts sent you) is what the seed says. What *you* do is kept in the
world's :class:`~asynctool_env.core.state.WorldState`, one object per thing:

* ``("message", CT-id or GRP-id, MSG-id)``: every message you send, reply or post, under the
  conversation it belongs to (kind, the reply's original, the text, and for a group post its
  position in the group);
* ``("group", GRP-id)``: every group you create (name, members, how many posts it has).

Keying messages by conversation keeps tasks apart: listing a contact's messages reads only
that contact's conversation, so it conflicts only with a task that writes to the same
contact.

Reads see it: ``list_messages`` shows the replies you sent to a contact's messages and the
direct messages you sent them (``sent_to_them``), ``send_group_message`` only accepts a
group that was created. New ids come from the content and the number of identical objects
made before (:meth:`~asynctool_env.core.state.WorldState.new_id`): the first message of a
text to a contact has the id it always had, and sending it again makes a second message with
a new id. Texts are stored as written (trimmed), names and ids in their canonical form. The
ids that a later step needs (contact ids, inbox message ids, group ids) are world-specific
hashes, so they are only learnt from the earlier response.

The templates
-------------
===================== ===== ==============================================================
``message_contact``    2     find_contact -> send_message (a chain)
``reply_latest``       3     find_contact -> list_messages -> reply_to_message (a chain)
``group_announcement`` 4-5   find_contact x2-3 (parallel) -> create_group (fan-in) ->
                             send_group_message
``forward_latest``     4     find A and B in parallel; list A's messages; send B the
                             latest one (fan-in of B's id and A's message)
``message_two``        4     two independent chains find_contact -> send_message; no answer
                             to give, the messages only have to be sent
``reply_by_id``        2     list_messages of a contact id given in the instruction ->
                             reply_to_message (a chain; its constant contact id is what the
                             ``contact_id`` lookup rule can turn into a find_contact step)
===================== ===== ==============================================================

Evolution hooks
---------------
A constant ``contact_id`` can be revealed by ``find_contact`` on the contact's name (lookup);
a ``list_messages`` step can be followed by a reply to the second newest message and a
``create_group`` step by a second post in the group, named (follow-ups, both writes);
looking up any contact's phone number, and telling it, is an independent extra step (side
step).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from asynctool_env.core.scenario import (
    FollowUpRule,
    LookupRule,
    Scenario,
    SideStepRule,
    StepSpec,
    TaskSpec,
    world_digest,
)
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool

#: Full names a world draws its contacts from (first and last names are all distinct).
CONTACT_NAMES: tuple[str, ...] = (
    "Maya Patel",
    "Liam O'Brien",
    "Sofia Rossi",
    "Noah Kim",
    "Ava Johnson",
    "Lucas Silva",
    "Emma Dubois",
    "Ethan Nakamura",
    "Chloe Martin",
    "Omar Haddad",
    "Zara Ahmed",
    "Felix Wagner",
    "Hana Sato",
    "Diego Ramirez",
    "Nina Kowalski",
    "Raj Mehta",
    "Isla Campbell",
    "Jonas Berg",
    "Amara Okafor",
    "Tom Becker",
)
N_CONTACTS = 8
MAX_TEXT = 1000
_MAX_LIMIT = 20

#: What contacts write to you (inbox texts).
_INBOX_TEXTS: tuple[str, ...] = (
    "Are we still on for lunch on Friday?",
    "Did you get a chance to look at my email?",
    "Can you send me the address?",
    "The package arrived, thanks!",
    "Call me when you land.",
    "Movie night at mine on Saturday?",
    "I'll be at the station at 6.",
    "Could you review the draft by Monday?",
    "Happy to help with the move next week.",
    "Just landed, see you soon!",
    "Do you have the Wi-Fi password?",
    "The meeting moved to 2 pm.",
    "Can I borrow your bike this weekend?",
    "Thanks for the birthday wishes!",
)
_GROUP_ID = re.compile(r"^GRP-[0-9A-F]{6}$")
_NOW = dt.datetime(2025, 6, 2, 18, 0)


@dataclass(frozen=True)
class MessagingWorld:
    """The state the messaging tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (inboxes, phone numbers).
        names: Full names of the contacts.
        contact_ids: ``CT-XXXXXX`` id of each contact, in the order of ``names``.
        now: Minutes after :data:`_NOW` at which the world stands (inbox timestamps end
            there).
        state: What was sent and created (see *State* in the module docstring).
    """

    seed: int
    names: tuple[str, ...]
    contact_ids: tuple[str, ...]
    now: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)


def make_world(rng: np.random.Generator) -> MessagingWorld:
    """A world drawn from ``rng`` only: eight contacts with distinct ids, a seed, a clock."""
    draws = rng.random(len(CONTACT_NAMES) + N_CONTACTS + 2).tolist()
    chosen = sorted(range(len(CONTACT_NAMES)), key=draws.__getitem__)[:N_CONTACTS]
    codes = [int(value * 0xFFFFFF) for value in draws[len(CONTACT_NAMES) : -2]]
    while len(set(codes)) < len(codes):  # practically never: 8 draws out of 16.7 million
        codes = [(code + index) % 0xFFFFFF for index, code in enumerate(codes)]
    return MessagingWorld(
        seed=int(draws[-1] * 2**52),
        names=tuple(CONTACT_NAMES[i] for i in chosen),
        contact_ids=tuple(f"CT-{code:06X}" for code in codes),
        now=int(draws[-2] * 60 * 24 * 30),
    )


# -- pure helpers ---------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=64)


def _contact_index(world: MessagingWorld, contact_id: str) -> int:
    wanted = contact_id.strip().upper()
    if wanted in world.contact_ids:
        return world.contact_ids.index(wanted)
    raise ToolError(f"unknown contact_id {contact_id!r}; use a contact_id from find_contact")


def _text(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ToolError("text must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise ToolError(f"text is too long ({len(cleaned)} characters, at most {MAX_TEXT})")
    return cleaned


def _inbox_ids(world: MessagingWorld, index: int) -> tuple[bytes, list[str]]:
    """The hash bits of a contact's inbox and its message ids, newest first."""
    bits = _digest(world.seed, "inbox", world.contact_ids[index])
    count = 3 + bits[0] % 4
    ids = [f"MSG-{bits[8 + 4 * n : 12 + 4 * n].hex().upper()}" for n in range(count)]
    return bits, ids


def _inbox(world: MessagingWorld, index: int) -> list[dict[str, Any]]:
    """A contact's messages to you, newest first (a pure function of the world)."""
    bits, ids = _inbox_ids(world, index)
    when = _NOW + dt.timedelta(minutes=world.now)
    messages = []
    for n, message_id in enumerate(ids):
        when -= dt.timedelta(minutes=7 + 11 * bits[40 + n])  # a few minutes to two days
        messages.append(
            {
                "message_id": message_id,
                "from": world.names[index],
                "text": _INBOX_TEXTS[(bits[1] + 5 * n) % len(_INBOX_TEXTS)],
                "sent_at": when.isoformat(timespec="minutes"),
            }
        )
    return messages


def _sender_of(world: MessagingWorld, message_id: str) -> int:
    """Index of the contact whose inbox holds ``message_id`` (recomputed, never stored)."""
    wanted = message_id.strip().upper()
    for index in range(len(world.contact_ids)):
        if wanted in _inbox_ids(world, index)[1]:
            return index
    raise ToolError(
        f"no message {message_id!r} in your inbox; use a message_id returned by list_messages"
    )


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"name": "keyword"})
def find_contact(world: MessagingWorld, name: str) -> dict[str, Any]:
    """Look up a contact by full name (or by a first or last name that only one contact has).

    Args:
        name: The contact's name, e.g. "Maya Patel".
    """
    wanted = " ".join(name.split()).casefold()
    if not wanted:
        raise ToolError("name must not be empty")
    matches = [i for i, full in enumerate(world.names) if full.casefold() == wanted]
    if not matches:
        matches = [i for i, full in enumerate(world.names) if wanted in full.casefold()]
    if len(matches) > 1:
        candidates = ", ".join(world.names[i] for i in matches)
        raise ToolError(f"{name!r} matches several contacts ({candidates}); use a full name")
    if not matches:
        raise ToolError(f"no contact named {name!r}; your contacts: {', '.join(world.names)}")
    index = matches[0]
    full = world.names[index]
    bits = _digest(world.seed, "phone", world.contact_ids[index])
    handle = ".".join(part.replace("'", "") for part in full.lower().split())
    return {
        "contact_id": world.contact_ids[index],
        "name": full,
        "phone": f"+1-555-{int.from_bytes(bits[:2], 'big') % 10000:04d}",
        "email": f"{handle}@example.com",
    }


@tool(latency=1, canonical={"contact_id": "symbol"})
def list_messages(world: MessagingWorld, contact_id: str, limit: int = 5) -> dict[str, Any]:
    """List the latest messages a contact sent you, newest first.

    Args:
        contact_id: A contact_id returned by find_contact.
        limit: How many messages to return at most, 1 to 20.
    """
    index = _contact_index(world, contact_id)
    if not 1 <= limit <= _MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {_MAX_LIMIT}, got {limit}")
    inbox = _inbox(world, index)
    contact = world.contact_ids[index]
    inbox_ids = {message["message_id"] for message in inbox}
    sent = [value for _, value in world.state.scan("message", contact)]
    replies = {
        message["in_reply_to"]: message["message_id"]
        for message in sent
        if message["kind"] == "reply" and message["in_reply_to"] in inbox_ids
    }
    shown = [
        {**message, "your_reply_id": replies[message["message_id"]]}
        if message["message_id"] in replies
        else message
        for message in inbox[:limit]
    ]
    response: dict[str, Any] = {
        "contact_id": contact,
        "name": world.names[index],
        "messages": shown,
        "total": len(inbox),
    }
    direct = sorted(m["message_id"] for m in sent if m["kind"] == "direct" and m["to"] == contact)
    if direct:
        response["sent_to_them"] = direct
    return response


@tool(latency=1, writes=True, canonical={"contact_id": "symbol"})
def send_message(world: MessagingWorld, contact_id: str, text: str) -> dict[str, Any]:
    """Send a direct message to a contact.

    Args:
        contact_id: A contact_id returned by find_contact.
        text: The message.
    """
    index = _contact_index(world, contact_id)
    body = _text(text)
    recipient = world.contact_ids[index]
    message_id = world.state.new_id("MSG", world.seed, "direct", recipient, body, digits=8)
    world.state.put(
        ("message", recipient, message_id),
        {"message_id": message_id, "kind": "direct", "to": recipient, "text": body},
    )
    return {"message_id": message_id, "to": recipient, "status": "delivered"}


@tool(latency=1, writes=True, canonical={"message_id": "symbol"})
def reply_to_message(world: MessagingWorld, message_id: str, text: str) -> dict[str, Any]:
    """Reply to a message in your inbox.

    Args:
        message_id: A message_id returned by list_messages.
        text: The reply.
    """
    index = _sender_of(world, message_id)
    body = _text(text)
    original = message_id.strip().upper()
    reply_id = world.state.new_id("MSG", world.seed, "reply", original, body, digits=8)
    world.state.put(
        ("message", world.contact_ids[index], reply_id),
        {
            "message_id": reply_id,
            "kind": "reply",
            "in_reply_to": original,
            "to": world.contact_ids[index],
            "text": body,
        },
    )
    return {
        "message_id": reply_id,
        "in_reply_to": original,
        "to": world.contact_ids[index],
        "status": "delivered",
    }


@tool(latency=2, writes=True, canonical={"name": "name", "member_ids": "set:symbol"})
def create_group(world: MessagingWorld, name: str, member_ids: list[str]) -> dict[str, Any]:
    """Create a group chat with two or more contacts.

    Args:
        name: Name of the group, e.g. "Book club".
        member_ids: contact_ids (from find_contact) of the members, at least two.
    """
    title = " ".join(name.split())
    if not title:
        raise ToolError("name must not be empty")
    members = sorted({member.strip().upper() for member in member_ids})
    unknown = [member for member in members if member not in world.contact_ids]
    if unknown:
        raise ToolError(f"unknown contact ids {unknown}; use contact_ids returned by find_contact")
    if len(members) < 2:
        raise ToolError(f"a group needs at least two different members, got {len(members)}")
    group_id = world.state.new_id("GRP", world.seed, title, members)
    world.state.put(
        ("group", group_id),
        {"group_id": group_id, "name": title, "member_ids": members, "posts": 0},
    )
    return {"group_id": group_id, "name": title, "member_ids": members, "size": len(members)}


@tool(latency=1, writes=True, canonical={"group_id": "symbol"})
def send_group_message(world: MessagingWorld, group_id: str, text: str) -> dict[str, Any]:
    """Send a message to every member of a group chat.

    Args:
        group_id: A group_id returned by create_group, e.g. "GRP-1A2B3C".
        text: The message.
    """
    group = group_id.strip().upper()
    record = world.state.get(("group", group)) if _GROUP_ID.match(group) else None
    if record is None:
        raise ToolError(
            f"unknown group_id {group_id!r} (like 'GRP-1A2B3C'); use the group_id returned "
            "by create_group"
        )
    body = _text(text)
    message_id = world.state.new_id("MSG", world.seed, "group", group, body, digits=8)
    record["posts"] += 1
    world.state.put(("group", group), record)
    world.state.put(
        ("message", group, message_id),
        {
            "message_id": message_id,
            "kind": "group",
            "group_id": group,
            "position": record["posts"],
            "text": body,
        },
    )
    return {"message_id": message_id, "group_id": group, "status": "delivered"}


# -- templates ------------------------------------------------------------------------------

_NOTES: tuple[str, ...] = (
    "Running 10 minutes late, sorry!",
    "Can you call me when you're free?",
    "Happy birthday! Hope you have a great day.",
    "Don't forget the meeting at 3 pm tomorrow.",
    "Thanks for dinner last night!",
    "Are you free for coffee on Saturday?",
    "I've sent you the slides.",
    "Let's move our call to Thursday.",
)
_REPLIES: tuple[str, ...] = (
    "Sounds good, see you then!",
    "Thanks, I'll take a look.",
    "Yes, that works for me.",
    "Sorry, I can't make it this time.",
    "Great, thanks for letting me know.",
)
_GROUPS: tuple[str, ...] = (
    "Weekend hike",
    "Book club",
    "Project Phoenix",
    "Birthday surprise",
    "Soccer Sundays",
    "Road trip",
    "Study group",
)
_ANNOUNCEMENTS: tuple[str, ...] = (
    "Welcome, everyone!",
    "First meeting is on Monday at 6 pm.",
    "Who's bringing snacks?",
    "Tickets are booked, details soon.",
)


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def _people(world: MessagingWorld, rng: np.random.Generator, count: int) -> list[str]:
    """``count`` distinct contact names."""
    order = rng.permutation(len(world.names))[:count]
    return [world.names[int(i)] for i in order]


def message_contact(world: MessagingWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a contact, send them a message (2 steps, a chain)."""
    (name,) = _people(world, rng, 1)
    text = _choice(rng, _NOTES)
    return TaskSpec(
        instruction=f'Send {name} the message "{text}" and tell me the message id.',
        steps=(
            StepSpec("find_contact", {"name": name}),
            StepSpec("send_message", {"contact_id": "${s0.contact_id}", "text": text}),
        ),
        answer="${s1.message_id}",
    )


def reply_latest(world: MessagingWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a contact, list their messages, reply to the newest (3 steps, a chain)."""
    (name,) = _people(world, rng, 1)
    text = _choice(rng, _REPLIES)
    return TaskSpec(
        instruction=(
            f'Reply "{text}" to the most recent message {name} sent me, and tell me what '
            "their message said."
        ),
        steps=(
            StepSpec("find_contact", {"name": name}),
            StepSpec("list_messages", {"contact_id": "${s0.contact_id}"}),
            StepSpec(
                "reply_to_message", {"message_id": "${s1.messages.0.message_id}", "text": text}
            ),
        ),
        answer="${s1.messages.0.text}",
    )


def group_announcement(world: MessagingWorld, rng: np.random.Generator) -> TaskSpec:
    """Find 2-3 contacts in parallel, make a group of them, post in it (4-5 steps)."""
    people = _people(world, rng, 2 + int(rng.integers(2)))
    group = _choice(rng, _GROUPS)
    text = _choice(rng, _ANNOUNCEMENTS)
    n = len(people)
    who = ", ".join(people[:-1]) + f" and {people[-1]}"
    return TaskSpec(
        instruction=(
            f'Create a group chat called "{group}" with {who}, then post "{text}" in it. '
            "Tell me the group id."
        ),
        steps=(
            *(StepSpec("find_contact", {"name": person}) for person in people),
            StepSpec(
                "create_group",
                {"name": group, "member_ids": [f"${{s{i}.contact_id}}" for i in range(n)]},
            ),
            StepSpec("send_group_message", {"group_id": f"${{s{n}.group_id}}", "text": text}),
        ),
        answer=f"${{s{n}.group_id}}",
    )


def forward_latest(world: MessagingWorld, rng: np.random.Generator) -> TaskSpec:
    """Send B the latest message from A (4 steps; the send joins two branches)."""
    source, target = _people(world, rng, 2)
    first = source.split()[0]
    return TaskSpec(
        instruction=(
            f"Forward the most recent message from {source} to {target}, written as "
            f'"From {first}: <the message text>", and tell me the new message id.'
        ),
        steps=(
            StepSpec("find_contact", {"name": source}),
            StepSpec("find_contact", {"name": target}),
            StepSpec("list_messages", {"contact_id": "${s0.contact_id}"}),
            StepSpec(
                "send_message",
                {
                    "contact_id": "${s1.contact_id}",
                    "text": f"From {first}: ${{s2.messages.0.text}}",
                },
            ),
        ),
        answer="${s3.message_id}",
    )


def message_two(world: MessagingWorld, rng: np.random.Generator) -> TaskSpec:
    """Two independent find -> send chains (4 steps); the task has no answer to give."""
    first, second = _people(world, rng, 2)
    notes = rng.permutation(len(_NOTES))[:2]
    text_a, text_b = _NOTES[int(notes[0])], _NOTES[int(notes[1])]
    return TaskSpec(
        instruction=(
            f'Send {first} the message "{text_a}", and send {second} the message "{text_b}"'
        ),
        steps=(
            StepSpec("find_contact", {"name": first}),
            StepSpec("find_contact", {"name": second}),
            StepSpec("send_message", {"contact_id": "${s0.contact_id}", "text": text_a}),
            StepSpec("send_message", {"contact_id": "${s1.contact_id}", "text": text_b}),
        ),
    )


def reply_by_id(world: MessagingWorld, rng: np.random.Generator) -> TaskSpec:
    """List the messages of a contact id given in the instruction, reply to the newest one
    (2 steps, a chain)."""
    contact_id = world.contact_ids[int(rng.integers(len(world.contact_ids)))]
    text = _choice(rng, _REPLIES)
    return TaskSpec(
        instruction=(
            f"Using {contact_id}, list that contact's latest messages and reply "
            f'"{text}" to the newest one. Tell me what their message said.'
        ),
        steps=(
            StepSpec("list_messages", {"contact_id": contact_id}),
            StepSpec(
                "reply_to_message", {"message_id": "${s0.messages.0.message_id}", "text": text}
            ),
        ),
        answer="${s0.messages.0.text}",
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_contact(world: MessagingWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A contact id is revealed by find_contact on the contact's full name."""
    if not isinstance(value, str) or value.strip().upper() not in world.contact_ids:
        return None
    name = world.names[world.contact_ids.index(value.strip().upper())]
    return {"name": name}, "contact_id", f"{name}'s contact id"


def _follow_list(
    world: MessagingWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """After a listing: reply to its second newest message (a write).

    The newest one is what the templates already answer or forward. The sentence names the
    contact by id when the instruction states it; otherwise as the sender of the newest
    message the task is about, which is unambiguous because no template lists two inboxes.
    """
    text = _choice(rng, _REPLIES)
    contact = followed.arguments["contact_id"]
    whose = f"from {contact}" if "${" not in str(contact) else "from that same sender"
    step = StepSpec(
        "reply_to_message", {"message_id": f"${{s{index}.messages.1.message_id}}", "text": text}
    )
    return step, f'Then also reply "{text}" to the second most recent message {whose}.'


_FOLLOW_UP_POSTS: tuple[str, ...] = (
    "Please add the dates to your calendars.",
    "Reply here if you can't make it.",
    "I'll share the agenda tomorrow.",
)


def _follow_group(
    world: MessagingWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """After a group is created: a second post in it (a write), the group named."""
    text = _choice(rng, _FOLLOW_UP_POSTS)
    step = StepSpec("send_group_message", {"group_id": f"${{s{index}.group_id}}", "text": text})
    return step, f'Then also post "{text}" in the "{followed.arguments["name"]}" group.'


def _side_phone(world: MessagingWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """Any contact's phone number (a read; asks for the number)."""
    (name,) = _people(world, rng, 1)
    return (
        StepSpec("find_contact", {"name": name}),
        f"Also look up {name}'s phone number and tell me what it is.",
        "phone",
    )


SCENARIO = Scenario(
    name="messaging",
    category="Message",
    description=(
        "Find contacts, read and reply to their messages, send direct messages and message "
        "group chats."
    ),
    make_world=make_world,
    tools=(
        find_contact,
        list_messages,
        send_message,
        reply_to_message,
        create_group,
        send_group_message,
    ),
    templates={
        "message_contact": message_contact,
        "reply_latest": reply_latest,
        "group_announcement": group_announcement,
        "forward_latest": forward_latest,
        "message_two": message_two,
        "reply_by_id": reply_by_id,
    },
    lookups=(LookupRule("contact_id", "find_contact", _lookup_contact),),
    follow_ups=(
        FollowUpRule("list_messages", _follow_list),
        FollowUpRule("create_group", _follow_group),
    ),
    side_steps=(SideStepRule("phone_number", _side_phone),),
)
