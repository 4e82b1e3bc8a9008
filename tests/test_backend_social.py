"""Backend tests of the social scenario, with values computed independently.

Profiles, timelines and counters come from a hash of the world's seed, so these tests check
the relations the tools promise: a user is found by each of their names, a timeline is
newest first and older than "now", the analytics of a post agree with the counts its
timeline shows (and a like adds exactly one), the engagement rate is the sum of the
engagements over the impressions, a published post's text is its body followed by its
mentions and hashtags, and scheduled times respect the 30-day window.
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
            assert call(world, "like_post", post_id=post["post_id"]) == liked  # twice: the same


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
    # the same post again is the same post; other text is another post
    again = call(
        world,
        "publish_social_post",
        text="New trail maps are out!",
        hashtags=["hiking", "#Hiking", "trail_maps"],
        mention_user_ids=[first, second],
    )
    assert again == out
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
    assert call(world, "comment_on_post", post_id=post["post_id"], text="Great shot!") == out
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
        assert iso == out
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
