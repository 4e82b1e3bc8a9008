"""Social: find users, read their posts, publish, comment, like, schedule, measure reach.

The world
---------
A :class:`SocialWorld` is the social-media account of a small brand (the agent posts as it)
and eight other users of the network (names drawn from :data:`USER_NAMES`, each with a
world-specific ``USR-XXXXXX`` id and handle), the moment "now" of the world and a ``seed``.
Each user's profile (followers, bio) and timeline (4 to 7 posts, newest first, with their
like, comment and share counts) are fixed by the world but not stored: they are a pure
function of ``seed`` and the user, derived from a hash when asked for (:func:`_timeline`),
so a world costs about twenty microseconds to build. The brand is a user of the network too,
with a world-specific user id (:attr:`SocialWorld.brand_id`); its timeline holds what it
publishes (see *State*).

The tools
---------
======================== ======= ======================================================
``find_social_user``      1       a user (or the brand itself) by name or @handle
``get_user_posts``        1       a user's latest posts, newest first (the brand's own
                                  account: also its scheduled posts)
``publish_social_post``   3       publishes a post as the brand (media processing: slow)
``comment_on_post``       1       comments on a post id
``like_post``             1       likes a post id
``schedule_social_post``  2       schedules a post for a later date and time
``get_post_analytics``    1       impressions, reach and engagement of a post id
======================== ======= ======================================================

(the middle column is the declared latency in rounds.)

State
-----
The other users, their profiles and their timelines are what the seed says. What the brand
*does* is kept in the world's :class:`~asynctool_env.core.state.WorldState`, one object per
thing:

* ``("post", PST-id)``: every post the brand publishes (its text as published, body,
  mentions, hashtags, time and url);
* ``("comment", PST-id, CMT-id)``: every comment the brand writes, under the post it is on;
* ``("like", PST-id)``: the brand's like of a post (an account likes a post once: a second
  like of the same post is refused with the current like count, it does not pass silently);
* ``("scheduled", SCH-id)``: every post the brand schedules.

Reads see it. A post's ``like_count`` / ``comment_count`` (``get_user_posts``) and its
``likes`` / ``comments`` (``get_post_analytics``, and the engagement rate computed from
them) are the seed's counters plus the brand's like and comments; a listed post the brand
liked or commented on says so (``liked_by_you``, ``your_comment_ids``). The brand's own
account is a user too: ``find_social_user`` finds it by its name or @handle, and
``get_user_posts`` on its user id lists the posts it published (newest first; posts of the
same minute by post id) and, as only the account owner sees them, its ``scheduled`` posts
(soonest first). A tool that takes a post id accepts a timeline post of the seed or a post
the brand published in this world (never one merely guessed), and a scheduled post's id is
refused as not published yet.

Ids. Post and scheduled-post ids are *signed*: ``PST-`` / ``SCH-`` followed by six hex
digits (for the brand's posts a hash of their content; for another user's post a hash
whose low bits name the user and the timeline slot) and a four-digit check computed from
the world's seed, so an id of another world is recognised as unknown. Comment ids are
``stable_id``-shaped. Every new id comes from the content and the number of identical
objects made before (:meth:`~asynctool_env.core.state.WorldState.new_id`): the first post,
comment or scheduled post of a content keeps the id it always had, and publishing,
commenting or scheduling the same thing again makes a second object with a new id. Texts
are stored trimmed, hashtags and mentions as the post shows them, times to the minute.
User ids, post ids and scheduled-post ids carry world-specific hashes, so a later step can
only learn them from an earlier response.

Keying comments and likes by post keeps tasks apart: listing a user's posts reads the likes
and comments of the posts it shows, so it conflicts only with a task that likes or comments
on one of them; a post's analytics read that post's objects only. Listing the brand's own
account reads every published and scheduled post, as it should.

The templates
-------------
======================= ===== ==============================================================
``comment_latest``       3     find_social_user -> get_user_posts -> comment_on_post (chain)
``like_latest``          2     get_user_posts (a user id given in the instruction) ->
                               like_post (chain)
``shoutout``             4     two find_social_user in parallel -> publish_social_post
                               mentioning both (fan-in) -> get_post_analytics
``launch_campaign``      3     publish_social_post, then a comment on it and a scheduled
                               reminder that quotes its url, in parallel (fan-out)
``roundup``              5     two chains find_social_user -> get_user_posts, joined by a
                               post linking both newest posts and mentioning both (fan-in)
``compare_engagement``   6     two chains find -> posts -> analytics; the answer is the user
                               whose newest post had more impressions
======================= ===== ==============================================================

Evolution hooks
---------------
A constant ``user_id`` can be revealed by ``find_social_user`` on the user's name (lookup).
A publish can be followed by a reminder quoting its url, a comment by a like of the same
post (writes), and a like by the liked post's analytics, asking for its impressions
(follow-ups). Side steps look up the profile of the world's last user, whom templates never
pick (asking for the follower count), or schedule an unrelated post.
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
    stable_id,
    world_digest,
)
from asynctool_env.core.state import WorldState
from asynctool_env.core.tools import ToolError, tool

#: Full names a world draws its users from (first and last names are all distinct).
USER_NAMES: tuple[str, ...] = (
    "Priya Raman",
    "Marcus Lee",
    "Elena Petrova",
    "Jamal Carter",
    "Sienna Brooks",
    "Kenji Watanabe",
    "Lucia Fernandez",
    "Owen Gallagher",
    "Aisha Bello",
    "Mateo Costa",
    "Freya Lindqvist",
    "Daniel Cho",
    "Yasmin Saleh",
    "Hugo Laurent",
    "Mia Schneider",
    "Arjun Nair",
    "Nora Walsh",
    "Samuel Adeyemi",
    "Ingrid Holm",
    "Victor Moreau",
)
#: Brand accounts a world's agent may manage: (display name, handle, followers).
BRANDS: tuple[tuple[str, str, int], ...] = (
    ("Northwind Coffee", "northwindcoffee", 18400),
    ("Bluebird Books", "bluebirdbooks", 9200),
    ("Harbor Bikes", "harborbikes", 12750),
    ("Juniper Yoga Studio", "juniperyoga", 6300),
    ("Copper Pot Bakery", "copperpotbakery", 22100),
    ("Summit Outdoor Gear", "summitoutdoor", 41800),
)
N_USERS = 8
MAX_TEXT = 280
MAX_HASHTAGS = 5
MAX_MENTIONS = 5
SCHEDULE_DAYS = 30
_MAX_LIMIT = 10
_EPOCH = dt.datetime(2025, 6, 9, 9, 0)
_SITE = "https://social.example"

_BIOS: tuple[str, ...] = (
    "Runner, reader, recovering perfectionist.",
    "Product designer. Coffee first.",
    "Travel photographer | 40 countries and counting",
    "Data nerd. Opinions are my own.",
    "Chef at a tiny bistro. Sourdough evangelist.",
    "Climbing, cycling and bad puns.",
    "Teacher by day, jazz pianist by night.",
    "Building things on the web since 2009.",
)
_POST_TEXTS: tuple[str, ...] = (
    "Just finished my first half marathon. Legs are jelly, heart is full!",
    "New blog post: five lessons from a year of remote work.",
    "Sunset over the harbor tonight was unreal.",
    "Anyone have a good recommendation for a mystery novel?",
    "Shipped a feature I've been working on for three months. Feels great.",
    "Tried a new ramen place downtown and I'm already planning my next visit.",
    "Hot take: pineapple on pizza is fine, actually.",
    "Grateful for the team that made this launch happen.",
    "Morning ride: 42 km, two flat tyres, zero regrets.",
    "Reading list for the summer is finally sorted.",
    "Our community garden harvested its first tomatoes today!",
    "Speaking at a meetup next week about accessible design.",
    "Three years at this job today. Time flies.",
    "Made croissants from scratch. Took all day, worth every minute.",
    "Looking for volunteers for Saturday's beach clean-up.",
    "The new museum exhibit on modern architecture is a must-see.",
)
_HANDLE_STYLES: tuple[str, ...] = (
    "{first}.{last}",
    "{first}{initial}_{n}",
    "{first}_{last}{n}",
    "the{first}{last}",
    "{first0}{last}",
)
_POST_ID = re.compile(r"^PST-([0-9A-F]{6})([0-9A-F]{4})$")
_SCHEDULED_ID = re.compile(r"^SCH-([0-9A-F]{6})([0-9A-F]{4})$")
_HASHTAG = re.compile(r"^#?([A-Za-z][A-Za-z0-9_]{0,29})$")


@dataclass(frozen=True)
class SocialWorld:
    """The state the social tools work on (see the module docstring).

    Attributes:
        seed: Seeds every derived detail (profiles, timelines, statistics, signatures).
        brand: Index in :data:`BRANDS` of the account the agent posts as.
        names: Full names of the eight other users.
        handles: Their handles (without ``@``), in the order of ``names``.
        user_ids: ``USR-XXXXXX`` id of each user, in the order of ``names``.
        now: Minutes after :data:`_EPOCH` at which the world stands (a multiple of 5).
        state: What the brand published, commented, liked and scheduled (see *State* in the
            module docstring).
    """

    seed: int
    brand: int
    names: tuple[str, ...]
    handles: tuple[str, ...]
    user_ids: tuple[str, ...]
    now: int
    state: WorldState = field(default_factory=WorldState, compare=False, repr=False)

    @property
    def clock(self) -> dt.datetime:
        """The world's "now"."""
        return _EPOCH + dt.timedelta(minutes=self.now)

    @property
    def brand_handle(self) -> str:
        """The brand's handle, without ``@``."""
        return BRANDS[self.brand][1]

    @property
    def brand_id(self) -> str:
        """The brand's own ``USR-XXXXXX`` user id (derived from the seed, never another
        user's)."""
        code = int.from_bytes(world_digest(self.seed, "brand", size=3), "big")
        while f"USR-{code:06X}" in self.user_ids:  # practically never
            code = (code + 1) % 0x1000000
        return f"USR-{code:06X}"


def _handle_patterns(name: str) -> tuple[str, ...]:
    first, last = (part.replace("'", "").lower() for part in name.split())
    return tuple(
        style.format(first=first, last=last, initial=last[0], first0=first[0], n="{n}")
        for style in _HANDLE_STYLES
    )


#: Handle patterns of every name (``{n}`` stands for the world's two-digit number).
_HANDLE_PATTERNS: dict[str, tuple[str, ...]] = {name: _handle_patterns(name) for name in USER_NAMES}


def make_world(rng: np.random.Generator) -> SocialWorld:
    """A world drawn from ``rng`` only: a brand, eight users with ids and handles, a clock."""
    draws = rng.random(len(USER_NAMES) + 3 * N_USERS + 3).tolist()
    chosen = sorted(range(len(USER_NAMES)), key=draws.__getitem__)[:N_USERS]
    base = len(USER_NAMES)
    codes = [int(value * 0xFFFFFF) for value in draws[base : base + N_USERS]]
    while len(set(codes)) < len(codes):  # practically never: 8 draws out of 16.7 million
        codes = [(code + index) % 0xFFFFFF for index, code in enumerate(codes)]
    styles = draws[base + N_USERS : base + 2 * N_USERS]
    numbers = draws[base + 2 * N_USERS : base + 3 * N_USERS]
    names = tuple(USER_NAMES[i] for i in chosen)
    return SocialWorld(
        seed=int(draws[-1] * 2**52),
        brand=int(draws[-2] * len(BRANDS)),
        names=names,
        handles=tuple(
            _HANDLE_PATTERNS[name][int(style * len(_HANDLE_STYLES))].replace(
                "{n}", str(10 + int(number * 90))
            )
            for name, style, number in zip(names, styles, numbers, strict=True)
        ),
        user_ids=tuple(f"USR-{code:06X}" for code in codes),
        now=5 * int(draws[-3] * 12 * 24 * 6),  # within six days, on a 5-minute mark
    )


# -- pure helpers ---------------------------------------------------------------------------


def _digest(seed: int, *parts: object) -> bytes:
    return world_digest(seed, *parts, size=64)


def _signed(world: SocialWorld, prefix: str, body: str) -> str:
    """``PREFIX-<body><check>``: the check proves that the id came from this world."""
    return f"{prefix}-{body}{_digest(world.seed, 'sign', prefix, body)[:2].hex().upper()}"


def _timestamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="minutes")


def _text(text: str, role: str = "text") -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ToolError(f"{role} must not be empty")
    if len(cleaned) > MAX_TEXT:
        raise ToolError(f"{role} is too long ({len(cleaned)} characters, at most {MAX_TEXT})")
    return cleaned


def _hashtags(hashtags: list[str] | None) -> list[str]:
    tags: list[str] = []
    for tag in hashtags or []:
        match = _HASHTAG.match(tag.strip())
        if match is None:
            raise ToolError(
                f"invalid hashtag {tag!r}: a letter then up to 29 letters, digits or "
                "underscores, e.g. '#summer_sale'"
            )
        if f"#{match.group(1)}" not in tags:
            tags.append(f"#{match.group(1)}")
    if len(tags) > MAX_HASHTAGS:
        raise ToolError(f"at most {MAX_HASHTAGS} hashtags, got {len(tags)}")
    return tags


def _user_index(world: SocialWorld, user_id: str) -> int:
    wanted = user_id.strip().upper()
    if wanted in world.user_ids:
        return world.user_ids.index(wanted)
    if wanted == world.brand_id:
        raise ToolError(f"{user_id!r} is your own account; a post cannot mention its author")
    raise ToolError(f"unknown user_id {user_id!r}; use a user_id returned by find_social_user")


def _followers(world: SocialWorld, index: int) -> int:
    bits = _digest(world.seed, "profile", world.user_ids[index])
    return int(150 * 1.6 ** (bits[0] % 20)) + bits[1] * 7  # 150 to about 1.2 million


def _post_url(handle: str, post_id: str) -> str:
    return f"{_SITE}/{handle}/status/{post_id}"


def _stats(world: SocialWorld, post_id: str, followers: int, fresh: bool) -> dict[str, int]:
    """A post's counters: a pure function of its id and the author's audience."""
    bits = _digest(world.seed, "stats", post_id)
    share = (0.02 + 0.08 * bits[0] / 255) if fresh else (0.2 + 1.3 * bits[0] / 255)
    impressions = max(12, int(followers * share))
    likes = max(1, int(impressions * (0.01 + 0.07 * bits[1] / 255)))
    return {
        "impressions": impressions,
        "reach": int(impressions * (0.6 + 0.3 * bits[2] / 255)),
        "likes": likes,
        "comments": int(likes * (0.05 + 0.25 * bits[3] / 255)),
        "shares": int(likes * (0.02 + 0.18 * bits[4] / 255)),
    }


def _timeline_ids(world: SocialWorld, index: int) -> tuple[bytes, list[str]]:
    """The hash bits of a user's timeline and its post ids, newest first."""
    bits = _digest(world.seed, "timeline", world.user_ids[index])
    ids = []
    for n in range(4 + bits[0] % 4):
        # the low six bits name the author and the slot, so a post id finds its timeline
        body = int.from_bytes(bits[4 + 2 * n : 7 + 2 * n], "big") & ~0x3F | n << 3 | index
        ids.append(_signed(world, "PST", f"{body:06X}"))
    return bits, ids


def _timeline(world: SocialWorld, index: int) -> list[dict[str, Any]]:
    """A user's posts, newest first (a pure function of the world)."""
    bits, ids = _timeline_ids(world, index)
    followers = _followers(world, index)
    when = world.clock
    posts = []
    for n, post_id in enumerate(ids):
        when -= dt.timedelta(minutes=25 + 37 * bits[20 + n])  # half an hour to 6.5 days
        stats = _stats(world, post_id, followers, fresh=False)
        posts.append(
            {
                "post_id": post_id,
                "text": _POST_TEXTS[(bits[1] + 5 * n) % len(_POST_TEXTS)],
                "posted_at": _timestamp(when),
                "like_count": stats["likes"],
                "comment_count": stats["comments"],
                "share_count": stats["shares"],
                "url": _post_url(world.handles[index], post_id),
            }
        )
    return posts


def _new_signed(world: SocialWorld, prefix: str, kind: str, label: str, *parts: Any) -> str:
    """The signed id of a new object stored under ``(kind, id)``, of content ``parts``.

    The first object of a content gets the id the stateless backend gave it (a hash of
    ``label`` and ``parts``); the n-th duplicate's hash also covers the token that
    :meth:`~asynctool_env.core.state.WorldState.new_id` makes for it, so it gets a new id.
    """
    made = world.state.new_id(prefix, world.seed, label, *parts, digits=16)
    salt: tuple[str, ...] = ()
    if made != stable_id(prefix, world.seed, label, *parts, digits=16):
        salt = (made,)
    while True:
        body = _digest(world.seed, label, *parts, *salt)[:3].hex().upper()
        new_id = _signed(world, prefix, body)
        if (kind, new_id) not in world.state:  # a clash of six hex digits: practically never
            return new_id
        salt = (*salt, "again")


def _post(world: SocialWorld, post_id: str) -> tuple[str, str, dict[str, int]]:
    """``(post id, author handle, the seed's counters)`` of an existing post.

    Raises:
        ToolError: The id is malformed, not signed by this world, a scheduled post's, or
            names no timeline post and no post the brand published.
    """
    wanted = post_id.strip().upper()
    hint = "use a post_id returned by get_user_posts or publish_social_post"
    if _SCHEDULED_ID.match(wanted):
        if ("scheduled", wanted) in world.state:
            raise ToolError(
                f"{post_id!r} is a scheduled post that has not been published yet; {hint}"
            )
        raise ToolError(f"no post {post_id!r}; {hint}")
    match = _POST_ID.match(wanted)
    if match is None:
        raise ToolError(f"malformed post_id {post_id!r} (like 'PST-3FA21C9B0E'); {hint}")
    if _signed(world, "PST", match.group(1)) != wanted:
        raise ToolError(f"no post {post_id!r}; {hint}")
    body = int(match.group(1), 16)
    index, slot = body & 7, body >> 3 & 7
    if index < len(world.user_ids):
        ids = _timeline_ids(world, index)[1]
        if slot < len(ids) and ids[slot] == wanted:
            followers = _followers(world, index)
            return wanted, world.handles[index], _stats(world, wanted, followers, fresh=False)
    if ("post", wanted) not in world.state:
        raise ToolError(f"no post {post_id!r}; {hint}")
    brand_followers = BRANDS[world.brand][2]
    return wanted, world.brand_handle, _stats(world, wanted, brand_followers, fresh=True)


def _yours(world: SocialWorld, post_id: str) -> tuple[bool, list[str]]:
    """Whether the brand liked a post, and the ids of its comments on it (by id)."""
    liked = ("like", post_id) in world.state
    return liked, [value["comment_id"] for _, value in world.state.scan("comment", post_id)]


def _as_seen(world: SocialWorld, post: dict[str, Any]) -> dict[str, Any]:
    """A listed post with the brand's like and comments counted (and said)."""
    liked, comments = _yours(world, post["post_id"])
    if not liked and not comments:
        return post
    seen = {
        **post,
        "like_count": post["like_count"] + liked,
        "comment_count": post["comment_count"] + len(comments),
    }
    if liked:
        seen["liked_by_you"] = True
    if comments:
        seen["your_comment_ids"] = comments
    return seen


def _own_account(world: SocialWorld, limit: int) -> dict[str, Any]:
    """The brand's own timeline (what it published) and its scheduled posts."""
    published = sorted(
        (value for _, value in world.state.scan("post")),
        key=lambda post: (post["published_at"], post["post_id"]),
    )
    published.sort(key=lambda post: post["published_at"], reverse=True)  # stable: ids stay
    posts = []
    for post in published[:limit]:
        stats = _stats(world, post["post_id"], BRANDS[world.brand][2], fresh=True)
        listed = {
            "post_id": post["post_id"],
            "text": post["text"],
            "posted_at": post["published_at"],
            "like_count": stats["likes"],
            "comment_count": stats["comments"],
            "share_count": stats["shares"],
            "url": post["url"],
        }
        posts.append(_as_seen(world, listed))
    scheduled = sorted(
        (value for _, value in world.state.scan("scheduled")),
        key=lambda post: (post["publish_at"], post["scheduled_post_id"]),
    )
    return {
        "user_id": world.brand_id,
        "handle": "@" + world.brand_handle,
        "posts": posts,
        "total": len(published),
        "scheduled": [
            {key: post[key] for key in ("scheduled_post_id", "text", "publish_at")}
            for post in scheduled
        ],
    }


# -- tools ----------------------------------------------------------------------------------


@tool(latency=1, canonical={"query": "keyword"})
def find_social_user(world: SocialWorld, query: str) -> dict[str, Any]:
    """Find a user of the social network by @handle, full name, or a unique first/last name.

    Args:
        query: A handle such as "@priya.raman" or a name such as "Priya Raman".
    """
    wanted = " ".join(query.split()).casefold()
    if not wanted:
        raise ToolError("query must not be empty")
    handle = wanted.removeprefix("@")
    names = (*world.names, BRANDS[world.brand][0])  # the last one is the brand itself
    handles = (*world.handles, world.brand_handle)
    matches = [i for i, own in enumerate(handles) if own == handle]
    if not matches:
        matches = [i for i, full in enumerate(names) if full.casefold() == wanted]
    if not matches:
        matches = [i for i, full in enumerate(names) if wanted in full.casefold().split()]
    if len(matches) > 1:
        candidates = ", ".join(names[i] for i in matches)
        raise ToolError(f"{query!r} matches several users ({candidates}); use a full name")
    if not matches:
        raise ToolError(
            f"no user matches {query!r}; search by @handle or by full name, e.g. {world.names[0]!r}"
        )
    index = matches[0]
    if index == len(world.names):
        bits = _digest(world.seed, "profile", world.brand_id)
        return {
            "user_id": world.brand_id,
            "name": names[index],
            "handle": "@" + world.brand_handle,
            "bio": f"The official account of {names[index]}.",
            "followers": BRANDS[world.brand][2],
            "following": 40 + bits[3] * 3,
            "verified": True,
        }
    bits = _digest(world.seed, "profile", world.user_ids[index])
    return {
        "user_id": world.user_ids[index],
        "name": world.names[index],
        "handle": "@" + world.handles[index],
        "bio": _BIOS[bits[2] % len(_BIOS)],
        "followers": _followers(world, index),
        "following": 40 + bits[3] * 3,
        "verified": bits[4] % 5 == 0,
    }


@tool(latency=1, canonical={"user_id": "symbol"})
def get_user_posts(world: SocialWorld, user_id: str, limit: int = 5) -> dict[str, Any]:
    """List a user's most recent posts, newest first, with like/comment/share counts (your
    own account's also lists your scheduled posts).

    Args:
        user_id: A user_id returned by find_social_user, e.g. "USR-3FA21C".
        limit: How many posts to return at most, 1 to 10.
    """
    own = user_id.strip().upper() == world.brand_id
    index = -1 if own else _user_index(world, user_id)
    if not 1 <= limit <= _MAX_LIMIT:
        raise ToolError(f"limit must be between 1 and {_MAX_LIMIT}, got {limit}")
    if own:
        return _own_account(world, limit)
    posts = _timeline(world, index)
    return {
        "user_id": world.user_ids[index],
        "handle": "@" + world.handles[index],
        "posts": [_as_seen(world, post) for post in posts[:limit]],
        "total": len(posts),
    }


@tool(latency=3, writes=True, canonical={"mention_user_ids": "list:symbol", "hashtags": "list:tag"})
def publish_social_post(
    world: SocialWorld,
    text: str,
    hashtags: list[str] | None = None,
    mention_user_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Publish a post on the brand's account now (mentions and hashtags are appended).

    Args:
        text: The post's text, at most 280 characters.
        hashtags: Up to 5 hashtags, e.g. ["#coffee", "#newmenu"].
        mention_user_ids: Up to 5 user_ids (from find_social_user) to mention.
    """
    body = _text(text)
    tags = _hashtags(hashtags)
    mentioned: list[int] = []
    for user_id in mention_user_ids or []:
        index = _user_index(world, user_id)
        if index not in mentioned:
            mentioned.append(index)
    if len(mentioned) > MAX_MENTIONS:
        raise ToolError(f"at most {MAX_MENTIONS} mentions, got {len(mentioned)}")
    mentions = ["@" + world.handles[i] for i in mentioned]
    # The mentions in their order: they are part of the published text.
    post_id = _new_signed(world, "PST", "post", "publish", body, tags, mentions)
    post = {
        "post_id": post_id,
        "status": "published",
        "author": "@" + world.brand_handle,
        "text": " ".join([body, *mentions, *tags]),
        "mentions": mentions,
        "hashtags": tags,
        "published_at": _timestamp(world.clock),
        "url": _post_url(world.brand_handle, post_id),
    }
    world.state.put(("post", post_id), {**post, "body": body})
    return post


@tool(latency=1, writes=True, canonical={"post_id": "symbol"})
def comment_on_post(world: SocialWorld, post_id: str, text: str) -> dict[str, Any]:
    """Comment on a post as the brand.

    Args:
        post_id: A post_id from get_user_posts or publish_social_post.
        text: The comment, at most 280 characters.
    """
    post, author, _ = _post(world, post_id)
    body = _text(text)
    comment_id = world.state.new_id("CMT", world.seed, post, body, digits=8)
    comment = {
        "comment_id": comment_id,
        "post_id": post,
        "post_author": "@" + author,
        "author": "@" + world.brand_handle,
        "text": body,
        "status": "posted",
    }
    world.state.put(("comment", post, comment_id), comment)
    return comment


@tool(latency=1, writes=True, canonical={"post_id": "symbol"})
def like_post(world: SocialWorld, post_id: str) -> dict[str, Any]:
    """Like a post as the brand (once per post); returns the post's like count including
    this like.

    Args:
        post_id: A post_id from get_user_posts or publish_social_post.
    """
    post, author, stats = _post(world, post_id)
    if ("like", post) in world.state:
        raise ToolError(
            f"you already like post {post} (like_count {stats['likes'] + 1}); an account "
            "can like a post only once"
        )
    world.state.put(("like", post), {"post_id": post, "by": "@" + world.brand_handle})
    return {
        "post_id": post,
        "post_author": "@" + author,
        "liked": True,
        "like_count": stats["likes"] + 1,
    }


@tool(latency=2, writes=True, canonical={"publish_at": "datetime", "hashtags": "list:tag"})
def schedule_social_post(
    world: SocialWorld, text: str, publish_at: str, hashtags: list[str] | None = None
) -> dict[str, Any]:
    """Schedule a post on the brand's account for a later date and time (within 30 days).

    Args:
        text: The post's text, at most 280 characters.
        publish_at: When to publish, "YYYY-MM-DD HH:MM" (the world's local time).
        hashtags: Up to 5 hashtags, e.g. ["#coffee"].
    """
    body = _text(text)
    tags = _hashtags(hashtags)
    try:
        when = dt.datetime.fromisoformat(publish_at.strip())
    except ValueError:
        raise ToolError(f"publish_at {publish_at!r} is not a time; use YYYY-MM-DD HH:MM") from None
    if when.tzinfo is not None:
        raise ToolError("publish_at must be a local time without a time zone")
    when = when.replace(second=0, microsecond=0)
    latest = world.clock + dt.timedelta(days=SCHEDULE_DAYS)
    if not world.clock < when <= latest:
        raise ToolError(
            f"publish_at must be after now ({_timestamp(world.clock)}) and at most "
            f"{SCHEDULE_DAYS} days ahead (until {_timestamp(latest)})"
        )
    moment = _timestamp(when)
    scheduled_id = _new_signed(world, "SCH", "scheduled", "schedule", body, tags, moment)
    scheduled = {
        "scheduled_post_id": scheduled_id,
        "status": "scheduled",
        "author": "@" + world.brand_handle,
        "text": " ".join([body, *tags]),
        "publish_at": moment,
    }
    world.state.put(("scheduled", scheduled_id), {**scheduled, "body": body, "hashtags": tags})
    return scheduled


@tool(latency=1, canonical={"post_id": "symbol"})
def get_post_analytics(world: SocialWorld, post_id: str) -> dict[str, Any]:
    """Get a published post's analytics: impressions, reach, likes, comments, shares.

    Args:
        post_id: A post_id from get_user_posts or publish_social_post.
    """
    post, author, stats = _post(world, post_id)
    liked, comments = _yours(world, post)
    stats["likes"] += liked
    stats["comments"] += len(comments)
    engaged = stats["likes"] + stats["comments"] + stats["shares"]
    return {
        "post_id": post,
        "author": "@" + author,
        **stats,
        "engagement_rate": round(100 * engaged / stats["impressions"], 2),
    }


# -- templates ------------------------------------------------------------------------------

_COMMENTS: tuple[str, ...] = (
    "Congrats, well deserved!",
    "Love this, thanks for sharing!",
    "This made our day.",
    "Great post! Come by for a coffee on us.",
    "So inspiring, keep it up!",
    "We couldn't agree more.",
    "Amazing work!",
    "Thanks for the shout-out!",
)
_SHOUTOUTS: tuple[str, ...] = (
    "Huge thanks to our favourite regulars for a wonderful week!",
    "Meet the winners of this month's community award!",
    "Big welcome to our newest ambassadors!",
    "Thank you for joining our charity weekend!",
    "Shout-out to the people who make our community great!",
)
_LAUNCHES: tuple[tuple[str, str], ...] = (
    ("Our summer collection is here!", "#summer"),
    ("Introducing our new loyalty programme.", "#rewards"),
    ("We're opening a second location next month!", "#grandopening"),
    ("Our spring sale starts today: 20% off everything.", "#sale"),
    ("Say hello to our brand new website.", "#launch"),
    ("Tickets for our anniversary party are live.", "#anniversary"),
)
_LINK_COMMENTS: tuple[str, ...] = (
    "Questions? Reply here and we'll answer them all.",
    "Tag a friend who needs to see this!",
    "Details and opening hours are on our website.",
    "Thank you all for the support!",
)
_ROUNDUPS: tuple[str, ...] = (
    "Our weekend reading list:",
    "Posts that made us smile this week:",
    "Two great reads from our community:",
    "Don't miss these:",
)
_EXTRA_TAGS: tuple[str, ...] = ("#community", "#smallbusiness", "#thankyou", "#local")


def _choice(rng: np.random.Generator, items: Sequence[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


#: The user the profile side step asks about; templates never pick them, so that a side step
#: never repeats a template's look-up.
_SIDE_USER = N_USERS - 1


def _users(world: SocialWorld, rng: np.random.Generator, count: int) -> list[int]:
    """``count`` distinct user indexes for a template (never the side step's user)."""
    return [int(i) for i in rng.permutation(len(world.names) - 1)[:count]]


def _later(world: SocialWorld, rng: np.random.Generator) -> str:
    """A time 1 to 7 days ahead, on the hour, "YYYY-MM-DD HH:MM"."""
    day = world.clock.date() + dt.timedelta(days=1 + int(rng.integers(7)))
    return f"{day.isoformat()} {8 + int(rng.integers(12)):02d}:00"


def comment_latest(world: SocialWorld, rng: np.random.Generator) -> TaskSpec:
    """Find a user, list their posts, comment on the newest (3 steps, a chain)."""
    (user,) = _users(world, rng, 1)
    text = _choice(rng, _COMMENTS)
    return TaskSpec(
        instruction=(
            f'Comment "{text}" on the most recent post by {world.names[user]}, and tell me '
            "the comment id."
        ),
        steps=(
            StepSpec("find_social_user", {"query": world.names[user]}),
            StepSpec("get_user_posts", {"user_id": "${s0.user_id}"}),
            StepSpec("comment_on_post", {"post_id": "${s1.posts.0.post_id}", "text": text}),
        ),
        answer="${s2.comment_id}",
    )


def like_latest(world: SocialWorld, rng: np.random.Generator) -> TaskSpec:
    """List the posts of a user id given in the instruction, like the newest (2, chain)."""
    (user,) = _users(world, rng, 1)
    user_id = world.user_ids[user]
    limit = 2 + int(rng.integers(4))
    return TaskSpec(
        instruction=(
            f"Look at the last {limit} posts of user {user_id} (fetch exactly {limit}), like "
            "the newest one, and tell me its like count after the like."
        ),
        steps=(
            StepSpec("get_user_posts", {"user_id": user_id, "limit": limit}),
            StepSpec("like_post", {"post_id": "${s0.posts.0.post_id}"}),
        ),
        answer="${s1.like_count}",
    )


def shoutout(world: SocialWorld, rng: np.random.Generator) -> TaskSpec:
    """Find two users in parallel, publish a post mentioning both, read its analytics (4)."""
    first, second = _users(world, rng, 2)
    text = _choice(rng, _SHOUTOUTS)
    tag = _choice(rng, _EXTRA_TAGS)
    return TaskSpec(
        instruction=(
            f'Publish the post "{text}" mentioning {world.names[first]} and '
            f"{world.names[second]} (in that order) with the hashtag {tag}. Then check the "
            "new post's analytics and tell me its post id and its impressions."
        ),
        steps=(
            StepSpec("find_social_user", {"query": world.names[first]}),
            StepSpec("find_social_user", {"query": world.names[second]}),
            StepSpec(
                "publish_social_post",
                {
                    "text": text,
                    "hashtags": [tag],
                    "mention_user_ids": ["${s0.user_id}", "${s1.user_id}"],
                },
            ),
            StepSpec("get_post_analytics", {"post_id": "${s2.post_id}"}),
        ),
        answer="${s2.post_id} (${s3.impressions} impressions)",
    )


def launch_campaign(world: SocialWorld, rng: np.random.Generator) -> TaskSpec:
    """Publish, then comment on it and schedule a reminder in parallel (3 steps, fan-out)."""
    text, tag = _choice(rng, _LAUNCHES)
    comment = _choice(rng, _LINK_COMMENTS)
    when = _later(world, rng)
    return TaskSpec(
        instruction=(
            f'Publish the post "{text}" with the hashtag {tag}. Once it is live, comment '
            f'"{comment}" on it, and schedule a post for {when} with the text '
            '"Reminder: <the new post\'s url>" and the same hashtag. Tell me the scheduled '
            "post's id."
        ),
        steps=(
            StepSpec("publish_social_post", {"text": text, "hashtags": [tag]}),
            StepSpec("comment_on_post", {"post_id": "${s0.post_id}", "text": comment}),
            StepSpec(
                "schedule_social_post",
                {"text": "Reminder: ${s0.url}", "publish_at": when, "hashtags": [tag]},
            ),
        ),
        answer="${s2.scheduled_post_id}",
    )


def roundup(world: SocialWorld, rng: np.random.Generator) -> TaskSpec:
    """Two find -> posts chains joined by a post linking both newest posts (5 steps)."""
    first, second = _users(world, rng, 2)
    intro = _choice(rng, _ROUNDUPS)
    return TaskSpec(
        instruction=(
            f"Share the newest posts of {world.names[first]} and {world.names[second]}: "
            f"publish \"{intro} <url of {world.names[first]}'s newest post> <url of "
            f"{world.names[second]}'s newest post>\" (urls separated by a space) mentioning "
            "both of them, in that order, with no hashtags. Tell me the new post id."
        ),
        steps=(
            StepSpec("find_social_user", {"query": world.names[first]}),
            StepSpec("find_social_user", {"query": world.names[second]}),
            StepSpec("get_user_posts", {"user_id": "${s0.user_id}"}),
            StepSpec("get_user_posts", {"user_id": "${s1.user_id}"}),
            StepSpec(
                "publish_social_post",
                {
                    "text": f"{intro} ${{s2.posts.0.url}} ${{s3.posts.0.url}}",
                    "mention_user_ids": ["${s0.user_id}", "${s1.user_id}"],
                },
            ),
        ),
        answer="${s4.post_id}",
    )


def compare_engagement(world: SocialWorld, rng: np.random.Generator) -> TaskSpec:
    """Two find -> posts -> analytics chains; the answer names the bigger reach (6 steps)."""
    first, second = _users(world, rng, 2)
    impressions = []
    for user in (first, second):
        newest = _timeline(world, user)[0]["post_id"]
        impressions.append(get_post_analytics.function(world, post_id=newest)["impressions"])
    winner = (
        "same"
        if impressions[0] == impressions[1]
        else world.names[(first, second)[impressions[1] > impressions[0]]]
    )
    return TaskSpec(
        instruction=(
            f"Whose most recent post got more impressions, {world.names[first]}'s or "
            f"{world.names[second]}'s? Check the analytics of both newest posts and answer "
            'with the person\'s full name (or "same" if they are equal).'
        ),
        steps=(
            StepSpec("find_social_user", {"query": world.names[first]}),
            StepSpec("find_social_user", {"query": world.names[second]}),
            StepSpec("get_user_posts", {"user_id": "${s0.user_id}"}),
            StepSpec("get_user_posts", {"user_id": "${s1.user_id}"}),
            StepSpec("get_post_analytics", {"post_id": "${s2.posts.0.post_id}"}),
            StepSpec("get_post_analytics", {"post_id": "${s3.posts.0.post_id}"}),
        ),
        answer=winner,
        options=(world.names[first], world.names[second], "same"),
    )


# -- evolution hooks ------------------------------------------------------------------------


def _lookup_user(world: SocialWorld, value: Any) -> tuple[dict[str, Any], str, str] | None:
    """A constant user id -> find_social_user by the user's name."""
    if not isinstance(value, str) or value.strip().upper() not in world.user_ids:
        return None
    name = world.names[world.user_ids.index(value.strip().upper())]
    return {"query": name}, "user_id", name


# Follow-ups avoid repeating a call a template already makes (the same tool with the same
# arguments twice in one task would be ambiguous to match): no template schedules a reminder
# without hashtags, likes a post it commented on, or reads a liked post's analytics. Every
# template publishes at most one post, comments at most once and likes at most once, so
# "the post you liked" names its referent. There is no follow-up after get_user_posts (two
# templates list two users' posts, and a rule cannot tell which user a list belongs to) nor
# after find_social_user (listing the user's posts again would repeat the template's list).


def _reminder_after_publish(
    world: SocialWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """After a publish: schedule a reminder quoting its url (a write)."""
    when = _later(world, rng)
    text = followed.arguments["text"]
    post = f'the post "{text}"' if "${" not in str(text) else "the post you published"
    return (
        StepSpec(
            "schedule_social_post",
            {"text": f"Reminder: ${{s{index}.url}}", "publish_at": when},
        ),
        f'Then schedule a post for {when} with the text "Reminder: <url of {post}>" and no '
        "hashtags.",
    )


def _like_after_comment(
    world: SocialWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str]:
    """After a comment: like the post commented on (a write)."""
    return (
        StepSpec("like_post", {"post_id": f"${{s{index}.post_id}}"}),
        f'Then also like the post you commented "{followed.arguments["text"]}" on.',
    )


def _analytics_after_like(
    world: SocialWorld, rng: np.random.Generator, index: int, followed: StepSpec
) -> tuple[StepSpec, str, str]:
    """After a like: the liked post's analytics (a read; asks for its impressions)."""
    return (
        StepSpec("get_post_analytics", {"post_id": f"${{s{index}.post_id}}"}),
        "Then check the analytics of the post you liked and tell me its impressions.",
        "impressions",
    )


def _side_profile(world: SocialWorld, rng: np.random.Generator) -> tuple[StepSpec, str, str]:
    """The side user's profile by handle (a read; asks for the follower count)."""
    handle = "@" + world.handles[_SIDE_USER]
    return (
        StepSpec("find_social_user", {"query": handle}),
        f"Also look up the profile of {handle} and tell me how many followers they have.",
        "followers",
    )


def _side_schedule(world: SocialWorld, rng: np.random.Generator) -> tuple[StepSpec, str]:
    """Schedule an unrelated post (a write)."""
    text, tag = _choice(rng, _LAUNCHES)
    when = _later(world, rng)
    return (
        StepSpec("schedule_social_post", {"text": text, "publish_at": when, "hashtags": [tag]}),
        f'Also schedule the post "{text}" with the hashtag {tag} for {when}.',
    )


SCENARIO = Scenario(
    name="social",
    category="Social",
    description=(
        "Manage a brand's social-media account: find users, read their posts, publish, "
        "comment, like and schedule posts, and check post analytics."
    ),
    make_world=make_world,
    tools=(
        find_social_user,
        get_user_posts,
        publish_social_post,
        comment_on_post,
        like_post,
        schedule_social_post,
        get_post_analytics,
    ),
    templates={
        "comment_latest": comment_latest,
        "like_latest": like_latest,
        "shoutout": shoutout,
        "launch_campaign": launch_campaign,
        "roundup": roundup,
        "compare_engagement": compare_engagement,
    },
    lookups=(LookupRule("user_id", "find_social_user", _lookup_user),),
    follow_ups=(
        FollowUpRule("publish_social_post", _reminder_after_publish),
        FollowUpRule("comment_on_post", _like_after_comment),
        FollowUpRule("like_post", _analytics_after_like),
    ),
    side_steps=(
        SideStepRule("lookup_profile", _side_profile),
        SideStepRule("schedule_post", _side_schedule),
    ),
)
