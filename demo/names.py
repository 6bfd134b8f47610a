"""Generated Chinese names and addresses (no real persons), reproducible from a seeded RNG."""

from __future__ import annotations

import random

from shared.personal_data import id_number_check_digit

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红梅志春燕林德文海鹏宇浩然佳欣怡晨阳辉丹雪琴凤云飞鑫斌波宁成亮健"
)
# Two villages named in the town's report; the others are generated.
REPORTED_VILLAGES = ("司马村", "史庄村")
VILLAGE_PREFIXES = "东西南北上下前后大小新老"
VILLAGE_STEMS = "张王李赵郭杜刘孙马何冯庄堡营寨坡沟河湾"
ROADS = ("中心街", "幸福路", "振兴路", "文化巷", "东大街", "西大街", "南关路", "北环路")


def person_name(rng: random.Random) -> str:
    """A plausible two- or three-character name."""
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def village_names(rng: random.Random, count: int, *, reported: bool = True) -> list[str]:
    """`count` distinct village names, the report's two first (for the report's town)."""
    names = list(REPORTED_VILLAGES[:count]) if reported else []
    capacity = len(VILLAGE_PREFIXES) * len(VILLAGE_STEMS)
    while len(names) < min(count, capacity):
        name = rng.choice(VILLAGE_PREFIXES) + rng.choice(VILLAGE_STEMS) + "村"
        if name not in names:
            names.append(name)
    # Beyond every prefix-and-stem pair, villages are numbered.
    names += [f"第{n}村" for n in range(len(names) + 1, count + 1)]
    return names


def address(rng: random.Random, town: str, village: str, number: int) -> str:
    """A household address in a village of Xia county."""
    return f"夏县{town}{village}{rng.choice(ROADS)}{number}号"


def phone(rng: random.Random) -> str:
    """An 11-digit mobile number in a range reserved for the demo (never a real subscriber's pattern)."""
    return "199" + "".join(str(rng.randrange(10)) for _ in range(8))


def id_number(rng: random.Random, birth_year: int, *, female: bool = False) -> str:
    """An 18-character resident ID with Xia county's region code and a valid check digit.

    The 17th digit is odd for men and even for women, as on real cards.
    """
    sequence = rng.randrange(500) * 2 + (0 if female else 1)
    body = f"140828{birth_year:04d}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}{sequence:03d}"
    return body + id_number_check_digit(body)
