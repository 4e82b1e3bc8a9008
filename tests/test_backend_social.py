"""Backend tests of the social scenario, with values computed independently.

Profiles, timelines and counters come from a hash of the world's seed, so these tests check
the relations the tools promise: a user is found by each of their names, a timeline is
newest first and older than "now", the analytics of a post agree with the counts its
timeline shows (and a like adds exactly one), the engagement rate is the sum of the
engagements over the impressions, a published post's text is its body followed by its
mentions and hashtags, and scheduled times respect the 30-day window.

The world is stateful (see *State* in :mod:`asynctool_env.scenarios.social`): the last part
checks that reads see the brand's posts, comments, likes and scheduled posts, that a
duplicate makes a second object with a new id while the first keeps its dataset-v2 id, that
a second like and refused calls change nothing, and that the keys keep tasks on different
posts apart.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from asynctool_env.core.tools import ToolError
from asynctool_env.scenarios import social

SCENARIO = social.SCENARIO
TOOLS = {tool.name: tool for tool in SCENARIO.tools}
SEEDS = range(4)
SITE = "https://social.example"


def call(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool the way the chat path does (arguments validated first)."""
    return TOOLS[tool_name].execute(world, arguments)


def now(world: Any) -> dt.datetime:
    """The world's "now", as a publication reveals it."""
    published = call(world, "publish_social_post", text="What time is it?")
    return dt.datetime.fromisoformat(published["published_at"])


def flip(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


# -- users and timelines --------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_users_are_found_by_each_of_their_names(seed):
    world = SCENARIO.world(seed)
    ids = set()
    for name, handle, user_id in zip(world.names, world.handles, world.user_ids, strict=True):
        first, last = name.split()
        by_name = call(world, "find_social_user", query=f"  {name.upper()} ")
        assert (by_name["user_id"], by_name["name"], by_name["handle"]) == (
            user_id,
            name,
            f"@{handle}",
        )
        for query in (f"@{handle}", handle, first.lower(), last):
            assert call(world, "find_social_user", query=query) == by_name
        assert 150 <= by_name["followers"] <= 1_200_000
        assert by_name["following"] >= 40
        assert isinstance(by_name["verified"], bool)
        assert re.fullmatch(r"USR-[0-9A-F]{6}", user_id)
        ids.add(user_id)
    assert len(ids) == 8


def test_find_user_bad_calls():
    world = SCENARIO.world(0)
    absent = next(name for name in social.USER_NAMES if name not in world.names)
    with pytest.raises(ToolError, match="no user matches"):
        call(world, "find_social_user", query=absent)
    with pytest.raises(ToolError, match="must not be empty"):
        call(world, "find_social_user", query="  ")


@pytest.mark.parametrize("seed", SEEDS)
def test_timelines_are_newest_first_and_in_the_past(seed):
    world = SCENARIO.world(seed)
    clock = now(world)
    post_ids = set()
    for user_id, handle in zip(world.user_ids, world.handles, strict=True):
        everything = call(world, "get_user_posts", user_id=user_id.lower(), limit=10)
        assert (everything["user_id"], everything["handle"]) == (user_id, f"@{handle}")
        posts = everything["posts"]
        assert 4 <= everything["total"] == len(posts) <= 7
        times = [dt.datetime.fromisoformat(post["posted_at"]) for post in posts]
        assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
        assert times[0] < clock
        assert clock - times[-1] <= dt.timedelta(days=7 * 7)
        for post in posts:
            assert re.fullmatch(r"PST-[0-9A-F]{10}", post["post_id"])
            assert post["url"] == f"{SITE}/{handle}/status/{post['post_id']}"
            assert post["like_count"] >= 1
            assert 0 <= post["comment_count"] <= post["like_count"]
            assert 0 <= post["share_count"] <= post["like_count"]
            post_ids.add(post["post_id"])
        for limit in range(1, 11):
            limited = call(world, "get_user_posts", user_id=user_id, limit=limit)
            assert limited["posts"] == posts[:limit]
            assert limited["total"] == len(posts)
        assert call(world, "get_user_posts", user_id=user_id)["posts"] == posts[:5]
    assert len(post_ids) == sum(
        call(world, "get_user_posts", user_id=user_id)["total"] for user_id in world.user_ids
    )


def test_posts_bad_calls():
    world = SCENARIO.world(0)
    with pytest.raises(ToolError, match="find_social_user"):
        call(world, "get_user_posts", user_id="USR-000000")
    for limit in (0, 11):
        with pytest.raises(ToolError, match="between 1 and 10"):
            call(world, "get_user_posts", user_id=world.user_ids[0], limit=limit)


# -- analytics and likes --------------------------------------------------------------------


def check_analytics(out: dict[str, Any]) -> None:
    engaged = out["likes"] + out["comments"] + out["shares"]
    assert out["engagement_rate"] == round(100 * engaged / out["impressions"], 2)
    assert out["impressions"] >= 12
    assert 0 < out["reach"] <= out["impressions"]
    assert 1 <= out["likes"] <= out["impressions"]


@pytest.mark.parametrize("seed", SEEDS)
def test_analytics_and_likes_agree_with_the_timeline(seed):
    world = SCENARIO.world(seed)
    for user_id, handle in zip(world.user_ids, world.handles, strict=True):
        for post in call(world, "get_user_posts", user_id=user_id, limit=10)["posts"]:
            out = call(world, "get_post_analytics", post_id=f" {post['post_id'].lower()} ")
            assert (out["post_id"], out["author"]) == (post["post_id"], f"@{handle}")
            assert (out["likes"], out["comments"], out["shares"]) == (
                post["like_count"],
                post["comment_count"],
                post["share_count"],
            )
            check_analytics(out)
            liked = call(world, "like_post", post_id=post["post_id"])
            assert liked == {
                "post_id": post["post_id"],
                "post_author": f"@{handle}",
                "liked": True,
                "like_count": post["like_count"] + 1,
            }
            # stateful now: the account already likes it, so a second like is refused
            with pytest.raises(ToolError, match="already like"):
                call(world, "like_post", post_id=post["post_id"])


def test_engagement_rate_by_hand():
    world = SCENARIO.world(0)
    post = call(world, "get_user_posts", user_id=world.user_ids[0])["posts"][0]
    out = call(world, "get_post_analytics", post_id=post["post_id"])
    likes, comments, shares = post["like_count"], post["comment_count"], post["share_count"]
    rate = (likes + comments + shares) / out["impressions"] * 100
    assert abs(out["engagement_rate"] - rate) <= 0.005


# -- publishing, commenting, scheduling -----------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_publish_appends_mentions_and_hashtags(seed):
    world = SCENARIO.world(seed)
    first, second = world.user_ids[2], world.user_ids[5]
    out = call(
        world,
        "publish_social_post",
        text="  New trail maps are out!  ",
        hashtags=["hiking", "#Hiking", "#hiking", " trail_maps "],
        mention_user_ids=[first.lower(), second, first],
    )
    mentions = [f"@{world.handles[2]}", f"@{world.handles[5]}"]
    tags = ["#hiking", "#Hiking", "#trail_maps"]  # "#" added, repeats dropped, case kept
    assert out["mentions"] == mentions
    assert out["hashtags"] == tags
    assert out["text"] == " ".join(["New trail maps are out!", *mentions, *tags])
    assert out["status"] == "published"
    brand = out["author"].removeprefix("@")
    assert out["author"] == f"@{world.brand_handle}"
    assert out["url"] == f"{SITE}/{brand}/status/{out['post_id']}"
    assert out["published_at"] == now(world).isoformat(timespec="minutes")
    assert re.fullmatch(r"PST-[0-9A-F]{10}", out["post_id"])
    # stateful now: the same post again is a second post with its own id; other text too
    again = call(
        world,
        "publish_social_post",
        text="New trail maps are out!",
        hashtags=["hiking", "#Hiking", "trail_maps"],
        mention_user_ids=[first, second],
    )
    assert again["post_id"] != out["post_id"]
    assert {**again, "post_id": out["post_id"], "url": out["url"]} == out
    other = call(world, "publish_social_post", text="New trail maps are out!!")
    assert other["post_id"] != out["post_id"]
    # the brand's own post has analytics, likes and comments like any other
    analytics = call(world, "get_post_analytics", post_id=out["post_id"])
    assert analytics["author"] == out["author"]
    check_analytics(analytics)
    liked = call(world, "like_post", post_id=out["post_id"])
    assert liked["like_count"] == analytics["likes"] + 1
    assert liked["post_author"] == out["author"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"text": ""}, "text must not be empty"),
        ({"text": "x" * 281}, "at most 280"),
        ({"text": "hi", "hashtags": ["#1st"]}, "invalid hashtag"),
        ({"text": "hi", "hashtags": ["#two words"]}, "invalid hashtag"),
        ({"text": "hi", "hashtags": [f"#t{n}" for n in range(6)]}, "at most 5 hashtags"),
        ({"text": "hi", "mention_user_ids": ["USR-000000"]}, "unknown user_id"),
    ],
)
def test_publish_bad_calls(arguments, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "publish_social_post", **arguments)


def test_comments():
    world = SCENARIO.world(1)
    post = call(world, "get_user_posts", user_id=world.user_ids[3])["posts"][1]
    out = call(world, "comment_on_post", post_id=post["post_id"].lower(), text="  Great shot!  ")
    assert out["post_id"] == post["post_id"]
    assert out["post_author"] == f"@{world.handles[3]}"
    assert out["author"] == f"@{world.brand_handle}"
    assert (out["text"], out["status"]) == ("Great shot!", "posted")
    assert re.fullmatch(r"CMT-[0-9A-F]{8}", out["comment_id"])
    # stateful now: the same comment again is a second comment with its own id
    again = call(world, "comment_on_post", post_id=post["post_id"], text="Great shot!")
    assert again["comment_id"] != out["comment_id"]
    assert {**again, "comment_id": out["comment_id"]} == out
    other = call(world, "comment_on_post", post_id=post["post_id"], text="Lovely!")
    assert other["comment_id"] != out["comment_id"]
    own = call(world, "publish_social_post", text="Summer sale starts today")
    reply = call(world, "comment_on_post", post_id=own["post_id"], text="Details in bio")
    assert reply["post_author"] == own["author"]


def test_post_id_checks():
    world = SCENARIO.world(1)
    post_id = call(world, "get_user_posts", user_id=world.user_ids[0])["posts"][0]["post_id"]
    for tool_name in ("comment_on_post", "like_post", "get_post_analytics"):
        arguments = {"text": "hi"} if tool_name == "comment_on_post" else {}
        with pytest.raises(ToolError, match="no post"):
            call(world, tool_name, post_id=flip(post_id), **arguments)
        with pytest.raises(ToolError, match="malformed post_id"):
            call(world, tool_name, post_id="12345", **arguments)
    # a post id of another world is not signed by this one
    other = SCENARIO.world(2)
    foreign = call(other, "get_user_posts", user_id=other.user_ids[0])["posts"][0]["post_id"]
    with pytest.raises(ToolError, match="no post"):
        call(world, "like_post", post_id=foreign)
    with pytest.raises(ToolError, match="must not be empty"):
        call(world, "comment_on_post", post_id=post_id, text=" ")


@pytest.mark.parametrize("seed", SEEDS)
def test_scheduling_window(seed):
    world = SCENARIO.world(seed)
    clock = now(world)
    for delta in (dt.timedelta(minutes=1), dt.timedelta(days=3, hours=5), dt.timedelta(days=30)):
        when = clock + delta
        out = call(
            world,
            "schedule_social_post",
            text=" Flash sale ",
            publish_at=when.strftime("%Y-%m-%d %H:%M"),
            hashtags=["sale", "#sale"],
        )
        assert out["publish_at"] == when.isoformat(timespec="minutes")
        assert (out["status"], out["author"]) == ("scheduled", f"@{world.brand_handle}")
        assert out["text"] == "Flash sale #sale"
        assert re.fullmatch(r"SCH-[0-9A-F]{10}", out["scheduled_post_id"])
        iso = call(
            world,
            "schedule_social_post",
            text="Flash sale",
            publish_at=when.strftime("%Y-%m-%dT%H:%M:59"),  # seconds are dropped
            hashtags=["#sale"],
        )
        # stateful now: scheduling the same post again is a second scheduled post
        assert iso["scheduled_post_id"] != out["scheduled_post_id"]
        assert {**iso, "scheduled_post_id": out["scheduled_post_id"]} == out
        # a scheduled post is not published yet: nobody can comment on it
        with pytest.raises(ToolError, match="not been published yet"):
            call(world, "comment_on_post", post_id=out["scheduled_post_id"], text="hi")
    for delta in (dt.timedelta(0), -dt.timedelta(hours=1), dt.timedelta(days=30, minutes=1)):
        with pytest.raises(ToolError, match="at most 30 days ahead"):
            call(
                world,
                "schedule_social_post",
                text="x",
                publish_at=(clock + delta).strftime("%Y-%m-%d %H:%M"),
            )


@pytest.mark.parametrize(
    ("publish_at", "message"),
    [("tomorrow at noon", "not a time"), ("2025-06-20 10:00+02:00", "without a time zone")],
)
def test_schedule_bad_times(publish_at, message):
    with pytest.raises(ToolError, match=message):
        call(SCENARIO.world(0), "schedule_social_post", text="x", publish_at=publish_at)


def test_two_different_posts_get_two_ids():
    world = SCENARIO.world(0)
    first, second = world.user_ids[0], world.user_ids[1]
    a = call(world, "publish_social_post", text="Hi", mention_user_ids=[first, second])
    b = call(world, "publish_social_post", text="Hi", mention_user_ids=[second, first])
    assert a["text"] != b["text"]
    assert a["post_id"] != b["post_id"]


# -- state: reads see writes ----------------------------------------------------------------

#: A world of the shipped dataset v2 (dev split) and ids its gold responses hold.
V2_WORLD = 1455845848


def run(world: Any, tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    """Run a tool as the environment does (recorded; a refused call is rolled back)."""
    return TOOLS[tool_name].run(world, TOOLS[tool_name].validate_arguments(arguments))[0]


def own_account(world: Any) -> dict[str, Any]:
    """The brand's account as find_social_user reveals it."""
    return call(world, "find_social_user", query="@" + world.brand_handle)


def test_first_objects_keep_their_v2_ids_and_duplicates_get_new_ones():
    world = SCENARIO.world(V2_WORLD)
    post = call(
        world,
        "publish_social_post",
        text="Say hello to our brand new website.",
        hashtags=["#launch"],
    )
    assert post["post_id"] == "PST-E3A960F2EF"  # social/launch_campaign/6740df99c47d
    comment = call(
        world, "comment_on_post", post_id="PST-3BACC4130D", text="Thanks for the shout-out!"
    )
    assert comment["comment_id"] == "CMT-1326071E"  # social/comment_latest/674bc466ef55
    scheduled = call(
        world,
        "schedule_social_post",
        text="Our spring sale starts today: 20% off everything.",
        publish_at="2025-06-20 15:00",
        hashtags=["#sale"],
    )
    assert scheduled["scheduled_post_id"] == "SCH-05C2AF8AAE"  # social/like_latest/e3509f8a7480
    # the same three writes again: three more objects, each with a new id
    post2 = call(
        world,
        "publish_social_post",
        text="Say hello to our brand new website.",
        hashtags=["#launch"],
    )
    comment2 = call(
        world, "comment_on_post", post_id="PST-3BACC4130D", text="Thanks for the shout-out!"
    )
    scheduled2 = call(
        world,
        "schedule_social_post",
        text="Our spring sale starts today: 20% off everything.",
        publish_at="2025-06-20T15:00",
        hashtags=["sale"],
    )
    assert re.fullmatch(r"PST-[0-9A-F]{10}", post2["post_id"])
    assert post2["post_id"] != post["post_id"]
    assert comment2["comment_id"] != comment["comment_id"]
    assert scheduled2["scheduled_post_id"] != scheduled["scheduled_post_id"]
    mine = call(world, "get_user_posts", user_id=own_account(world)["user_id"])
    assert mine["total"] == 2
    assert {p["post_id"] for p in mine["posts"]} == {post["post_id"], post2["post_id"]}
    assert len(mine["scheduled"]) == 2
    author = call(world, "find_social_user", query=comment["post_author"])["user_id"]
    user_posts = call(world, "get_user_posts", user_id=author, limit=10)["posts"]
    commented = next(p for p in user_posts if p["post_id"] == "PST-3BACC4130D")
    assert commented["your_comment_ids"] == sorted([comment["comment_id"], comment2["comment_id"]])
    # the second post is a real post: it can be commented on, on its own
    reply = call(world, "comment_on_post", post_id=post2["post_id"], text="Hi")
    assert reply["post_author"] == f"@{world.brand_handle}"


@pytest.mark.parametrize("seed", SEEDS)
def test_the_brand_is_a_user_with_its_own_timeline(seed):
    world = SCENARIO.world(seed)
    name, handle, followers = social.BRANDS[world.brand]
    me = call(world, "find_social_user", query=f"@{handle}")
    assert call(world, "find_social_user", query=f" {name.upper()} ") == me
    assert (me["name"], me["handle"], me["followers"]) == (name, f"@{handle}", followers)
    assert me["user_id"] == world.brand_id
    assert me["user_id"] not in world.user_ids
    assert re.fullmatch(r"USR-[0-9A-F]{6}", me["user_id"])
    empty = call(world, "get_user_posts", user_id=me["user_id"].lower())
    assert empty == {
        "user_id": me["user_id"],
        "handle": f"@{handle}",
        "posts": [],
        "total": 0,
        "scheduled": [],
    }
    first = call(world, "publish_social_post", text="Good morning!", hashtags=["coffee"])
    second = call(world, "publish_social_post", text="Good evening!")
    mine = call(world, "get_user_posts", user_id=me["user_id"])
    assert mine["total"] == 2
    # both published in the world's same minute: listed by post id
    by_id = sorted([first, second], key=lambda post: post["post_id"])
    assert [p["post_id"] for p in mine["posts"]] == [p["post_id"] for p in by_id]
    for listed, published in zip(mine["posts"], by_id, strict=True):
        analytics = call(world, "get_post_analytics", post_id=published["post_id"])
        assert listed == {
            "post_id": published["post_id"],
            "text": published["text"],
            "posted_at": published["published_at"],
            "like_count": analytics["likes"],
            "comment_count": analytics["comments"],
            "share_count": analytics["shares"],
            "url": published["url"],
        }
    assert call(world, "get_user_posts", user_id=me["user_id"], limit=1)["posts"] == [
        mine["posts"][0]
    ]
    # a post cannot mention the account that publishes it
    with pytest.raises(ToolError, match="your own account"):
        call(world, "publish_social_post", text="Me!", mention_user_ids=[me["user_id"]])


def test_a_comment_is_counted_and_listed():
    world = SCENARIO.world(2)
    user_id = world.user_ids[4]
    before = call(world, "get_user_posts", user_id=user_id, limit=10)["posts"]
    target = before[1]["post_id"]
    stats = call(world, "get_post_analytics", post_id=target)
    comment = call(world, "comment_on_post", post_id=target.lower(), text=" Lovely! ")
    after = call(world, "get_user_posts", user_id=user_id, limit=10)["posts"]
    assert after[1] == {
        **before[1],
        "comment_count": before[1]["comment_count"] + 1,
        "your_comment_ids": [comment["comment_id"]],
    }
    assert after[:1] + after[2:] == before[:1] + before[2:]  # the other posts did not change
    seen = call(world, "get_post_analytics", post_id=target)
    engaged = stats["likes"] + stats["comments"] + 1 + stats["shares"]
    assert seen == {
        **stats,
        "comments": stats["comments"] + 1,
        "engagement_rate": round(engaged * 100 / stats["impressions"], 2),
    }
    assert world.state.get(("comment", target, comment["comment_id"]))["text"] == "Lovely!"


def test_a_like_is_counted_once_and_a_second_like_is_refused():
    world = SCENARIO.world(3)
    user_id = world.user_ids[0]
    before = call(world, "get_user_posts", user_id=user_id)["posts"]
    target = before[0]["post_id"]
    stats = call(world, "get_post_analytics", post_id=target)
    liked = run(world, "like_post", post_id=target)
    assert liked["like_count"] == before[0]["like_count"] + 1
    after = call(world, "get_user_posts", user_id=user_id)["posts"]
    assert after[0] == {
        **before[0],
        "like_count": before[0]["like_count"] + 1,
        "liked_by_you": True,
    }
    assert after[1:] == before[1:]
    seen = call(world, "get_post_analytics", post_id=target)
    assert seen["likes"] == stats["likes"] + 1
    engaged = stats["likes"] + 1 + stats["comments"] + stats["shares"]
    assert seen["engagement_rate"] == round(engaged * 100 / stats["impressions"], 2)
    state = world.state.snapshot()
    with pytest.raises(ToolError, match=rf"already like post {target} \(like_count "):
        run(world, "like_post", post_id=f" {target.lower()} ")
    assert world.state.snapshot() == state
    assert call(world, "get_post_analytics", post_id=target) == seen
    # another post can still be liked
    assert run(world, "like_post", post_id=before[1]["post_id"])["liked"] is True


def test_scheduled_posts_are_listed_on_the_own_account_soonest_first():
    world = SCENARIO.world(0)
    clock = now(world)
    later = (clock + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    sooner = (clock + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    a = call(world, "schedule_social_post", text="Later", publish_at=later, hashtags=["x"])
    b = call(world, "schedule_social_post", text="Sooner", publish_at=sooner)
    mine = call(world, "get_user_posts", user_id=world.brand_id)
    assert mine["scheduled"] == [
        {key: b[key] for key in ("scheduled_post_id", "text", "publish_at")},
        {key: a[key] for key in ("scheduled_post_id", "text", "publish_at")},
    ]
    assert mine["scheduled"][1]["text"] == "Later #x"
    assert mine["total"] == 1  # only the post now() published: scheduled ones are not out yet
    with pytest.raises(ToolError, match="not been published yet"):
        call(world, "like_post", post_id=a["scheduled_post_id"])
    # a scheduled id this world never made is no post at all
    fresh = SCENARIO.world(0)
    with pytest.raises(ToolError, match="no post"):
        call(fresh, "comment_on_post", post_id=a["scheduled_post_id"], text="hi")


def test_a_post_exists_only_once_published():
    made = SCENARIO.world(1)
    post = call(made, "publish_social_post", text="Fresh bread at 7")
    fresh = SCENARIO.world(1)  # the same world, where nothing was published
    for tool_name in ("comment_on_post", "like_post", "get_post_analytics"):
        arguments = {"text": "hi"} if tool_name == "comment_on_post" else {}
        with pytest.raises(ToolError, match="no post"):
            call(fresh, tool_name, post_id=post["post_id"], **arguments)
    assert len(fresh.state) == 0
    assert call(made, "get_post_analytics", post_id=post["post_id"])["author"] == post["author"]


@pytest.mark.parametrize(
    ("tool_name", "arguments"),
    [
        ("publish_social_post", {"text": "Hi", "mention_user_ids": ["USR-000000"]}),
        ("publish_social_post", {"text": "Hi", "hashtags": ["#ok", "#not ok"]}),
        ("comment_on_post", {"post_id": "POST", "text": " "}),
        ("schedule_social_post", {"text": "Hi", "publish_at": "2020-01-01 10:00"}),
        ("like_post", {"post_id": "PST-0000000000"}),
    ],
)
def test_a_refused_write_changes_nothing_even_unrecorded(tool_name, arguments):
    """Backends validate before their first write: even the unrecorded path (no rollback)
    leaves the state empty."""
    world = SCENARIO.world(0)
    if arguments.get("post_id") == "POST":  # a real post, refused for its empty text
        newest = call(world, "get_user_posts", user_id=world.user_ids[0])["posts"][0]
        arguments = {**arguments, "post_id": newest["post_id"]}
    with pytest.raises(ToolError):
        call(world, tool_name, **arguments)
    assert len(world.state) == 0


def test_equivalent_spellings_leave_equal_states():
    def play(spelling: int) -> tuple[list[dict[str, Any]], dict]:
        world = SCENARIO.world(4)
        a, b = world.user_ids[1], world.user_ids[6]
        target = call(world, "get_user_posts", user_id=a)["posts"][0]["post_id"]
        when = now(SCENARIO.world(4)) + dt.timedelta(days=2)  # now() publishes: another world
        if spelling == 0:
            calls = [
                (
                    "publish_social_post",
                    {"text": "Hi all", "hashtags": ["#news"], "mention_user_ids": [a, b]},
                ),
                ("comment_on_post", {"post_id": target, "text": "Nice"}),
                ("like_post", {"post_id": target}),
                (
                    "schedule_social_post",
                    {"text": "Soon", "publish_at": when.strftime("%Y-%m-%d %H:%M")},
                ),
            ]
        else:
            calls = [
                (
                    "publish_social_post",
                    {
                        "text": "  Hi all ",
                        "hashtags": ["news"],
                        "mention_user_ids": [a.lower(), f" {b} "],
                    },
                ),
                ("comment_on_post", {"post_id": f" {target.lower()}", "text": "Nice "}),
                ("like_post", {"post_id": target.lower()}),
                (
                    "schedule_social_post",
                    {
                        "text": "Soon",
                        "publish_at": when.strftime("%Y-%m-%dT%H:%M:00"),
                        "hashtags": [],
                    },
                ),
            ]
        responses = [run(world, name, **arguments) for name, arguments in calls]
        return responses, world.state.snapshot()

    assert play(0) == play(1)


def test_writes_on_different_posts_commute():
    """Keys per post: a comment on one post, a like of another and a listing of a third user
    touch no common object, while a listing sees a like of a post it shows."""
    world = SCENARIO.world(5)
    posts = [call(world, "get_user_posts", user_id=u)["posts"] for u in world.user_ids[:3]]
    comment_tool, like_tool, list_tool = (
        TOOLS[name] for name in ("comment_on_post", "like_post", "get_user_posts")
    )
    _, commented = comment_tool.run(world, {"post_id": posts[0][0]["post_id"], "text": "Hi"})
    _, liked = like_tool.run(world, {"post_id": posts[1][0]["post_id"]})
    _, listed = list_tool.run(world, {"user_id": world.user_ids[2], "limit": 5})
    assert not commented.conflicts_with(liked)
    assert not commented.conflicts_with(listed)
    assert not liked.conflicts_with(listed)
    _, listed_liked = list_tool.run(world, {"user_id": world.user_ids[1], "limit": 5})
    assert liked.conflicts_with(listed_liked) == [("like", posts[1][0]["post_id"])]
