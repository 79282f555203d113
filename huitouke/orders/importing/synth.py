"""A deterministic, realistic Taobao 订单报表 (and optional 宝贝报表) for benchmarks, written row by row.

What makes it realistic: the seller-centre header (with its stray spaces), Excel ="…" wrappers on order
numbers, ¥ amounts, Chinese names and nicknames, ~30% masked phones, ~3% of buyers sharing a phone with a
second account, mixed statuses, and a few orders repeated further down with a later state (shipped →
completed, or refunded), as when two exports are concatenated. Customers are derived from their index by
hashing, so memory does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import random
from pathlib import Path
from typing import Any

HEADER = [
    "订单编号",
    "买家会员名",
    "买家支付宝账号",
    "买家应付货款",
    "买家应付邮费",
    "买家支付积分",
    "总金额",
    "返点积分",
    "买家实际支付金额",
    "买家实际支付积分",
    "订单状态",
    "买家留言",
    "收货人姓名",
    "收货地址 ",
    "运送方式",
    "联系电话 ",
    "联系手机",
    "订单创建时间",
    "订单付款时间 ",
    "宝贝标题 ",
    "宝贝种类 ",
    "物流单号 ",
    "物流公司",
    "订单备注",
    "宝贝总数量",
    "店铺Id",
    "店铺名称",
    "订单关闭原因",
    "卖家服务费",
    "买家服务费",
    "发票抬头",
    "是否手机订单",
    "分阶段订单信息",
    "特权订金订单id",
    "是否上传合同照片",
    "是否上传小票",
    "是否代付",
    "定金排名",
    "修改后的sku",
    "修改后的收货地址",
    "异常信息",
    "天猫卡券抵扣",
    "集分宝抵扣",
    "是否是O2O交易",
    "退款金额",
]
ITEM_HEADER = [
    "订单编号",
    "标题",
    "价格",
    "购买数量",
    "外部系统编号",
    "商品属性",
    "套餐信息",
    "备注",
    "订单状态",
    "商家编码",
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彩春菊凤洁梅琳云莲雪荣爱香月媛瑞佳嘉琼珍莉璐晶妍茜秋珊婷婉颖露瑶怡丹蓉君琴薇梦岚馨韵悦冰爽欣宁柔晓欢枫芸菲亚宜可舒浩宇轩然子涵博文"
NICK_HEADS = (
    "小",
    "大",
    "爱吃",
    "快乐的",
    "tb",
    "宝贝",
    "猫咪",
    "鱼儿",
    "momo",
    "sunny",
    "lucky",
    "木子",
    "一只",
    "喵",
    "阿",
)
NICK_TAILS = (
    "兔",
    "熊",
    "饭团",
    "小姐姐",
    "同学",
    "_hz",
    "妈妈",
    "baby",
    "酱",
    "糖",
    "豆豆",
    "lily",
    "呀",
    "家",
    "_88",
)
PLACES = (
    ("浙江省", "杭州市", ("西湖区", "上城区", "拱墅区", "滨江区", "余杭区"), "310000"),
    ("浙江省", "宁波市", ("海曙区", "鄞州区", "北仑区"), "315000"),
    ("江苏省", "南京市", ("玄武区", "鼓楼区", "建邺区"), "210000"),
    ("江苏省", "苏州市", ("姑苏区", "吴中区", "工业园区"), "215000"),
    ("上海", "上海市", ("浦东新区", "徐汇区", "静安区", "闵行区"), "200000"),
    ("北京", "北京市", ("朝阳区", "海淀区", "东城区", "丰台区"), "100000"),
    ("广东省", "广州市", ("天河区", "越秀区", "番禺区"), "510000"),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区"), "518000"),
    ("四川省", "成都市", ("武侯区", "锦江区", "高新区"), "610000"),
    ("湖北省", "武汉市", ("洪山区", "江汉区", "武昌区"), "430000"),
    ("山东省", "青岛市", ("市南区", "崂山区", "黄岛区"), "266000"),
    ("福建省", "厦门市", ("思明区", "湖里区"), "361000"),
)
STREETS = (
    "文三路",
    "解放路",
    "人民路",
    "中山路",
    "建设路",
    "长江路",
    "和平街",
    "学院路",
    "科技路",
    "新华路",
    "滨河路",
)
ADJECTIVES = (
    "夏季新款",
    "韩版",
    "复古",
    "加厚",
    "纯棉",
    "ins风",
    "简约",
    "宽松",
    "高腰",
    "法式",
    "网红同款",
    "日系",
)
NOUNS = (
    "连衣裙",
    "T恤",
    "卫衣",
    "牛仔裤",
    "针织开衫",
    "衬衫",
    "半身裙",
    "羽绒服",
    "帆布鞋",
    "双肩包",
    "保温杯",
    "面膜",
)
CARRIERS = ("中通快递", "圆通速递", "韵达快递", "顺丰速运", "申通快递")
MOBILE_HEADS = tuple(
    [
        "130",
        "131",
        "132",
        "133",
        "134",
        "135",
        "136",
        "137",
        "138",
        "139",
        "150",
        "151",
        "152",
        "153",
        "155",
        "156",
        "157",
        "158",
        "159",
        "166",
        "177",
        "180",
        "181",
        "182",
        "183",
        "184",
        "185",
        "186",
        "187",
        "188",
        "189",
        "198",
        "199",
    ]
)

_MASK64 = (1 << 64) - 1


def _mix(value: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer (customers are derived from it, not stored)."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


class _People:
    """Buyer number → nickname, name, phone and address, the same every time (pairs may share a phone)."""

    def __init__(self, seed: int) -> None:
        self.salt = _mix(seed) & 0xFFFFFFFF

    def twin(self, idx: int) -> bool:
        """Buyers 2k and 2k+1 are, for ~3% of k, one person with two accounts (same name and phone)."""
        return _mix((idx >> 1) ^ (self.salt << 20) ^ 0x5A5A) % 100 < 3

    def person(self, idx: int) -> tuple[str, str, str, str, str]:
        h = _mix(idx ^ (self.salt << 32))
        nick = f"{NICK_HEADS[h % 15]}{NICK_TAILS[(h >> 4) % 15]}{idx}"
        owner = idx & ~1 if self.twin(idx) else idx
        g = _mix(owner ^ (self.salt << 32) ^ 0xABCDEF)
        given = GIVEN[(g >> 8) % len(GIVEN)] + (GIVEN[(g >> 16) % len(GIVEN)] if g % 3 else "")
        name = SURNAMES[g % len(SURNAMES)] + given
        mobile = f"{MOBILE_HEADS[(g >> 24) % len(MOBILE_HEADS)]}{(g >> 30) % 100_000_000:08d}"
        province, city, districts, postcode = PLACES[(g >> 40) % len(PLACES)]
        district = districts[(g >> 44) % len(districts)]
        street = f"{STREETS[(g >> 48) % len(STREETS)]} {(g >> 52) % 400 + 1}号"
        address = f"{province} {city} {district} {street}({postcode})"
        return nick, name, mobile, address, f"{100000 + idx}@qq.com" if h % 5 == 0 else ""


def _money(value: float) -> str:
    return f"{value:.2f}"


def write_taobao_export(
    path: Path,
    *,
    orders: int,
    customers: int,
    seed: int = 1,
    encoding: str = "gb18030",
    items_path: Path | None = None,
    end: dt.date = dt.date(2025, 6, 30),
) -> dict[str, Any]:
    """Write `orders` orders by up to `customers` buyers over the 3 years before `end`; return the counts."""
    rng = random.Random(seed)
    yuan = "¥" if "¥".encode(encoding, "replace") != b"?" else "￥"  # GBK has only the full-width sign
    people = _People(seed)
    products = [
        (
            f"{ADJECTIVES[n % 12]}{NOUNS[(n * 7) % 12]} {n % 9 + 1}号款",
            round(19.9 + (n * 37) % 480, 1),
            f"SKU-{n:04d}",
        )
        for n in range(240)
    ]
    finish = dt.datetime.combine(end, dt.time(23, 59, 59))
    span = 3 * 365 * 86400
    start = finish - dt.timedelta(seconds=span)
    width = len(HEADER)
    used = bytearray(customers)
    later: list[
        tuple[int, int, list[str]]
    ] = []  # (emit before this row number, tiebreak, row): a bounded heap
    counts = {"orders": 0, "rows": 0, "duplicates": 0, "masked_phones": 0, "shared_phone_rows": 0, "items": 0}
    store_id, store_name = "102938475", "回头客旗舰店"
    items_file = open(items_path, "w", encoding=encoding, newline="") if items_path else None  # noqa: SIM115
    try:
        with open(path, "w", encoding=encoding, newline="") as handle:
            out = csv.writer(handle)
            out.writerow(HEADER)
            items = csv.writer(items_file) if items_file else None
            if items:
                items.writerow(ITEM_HEADER)
            for n in range(orders):
                while later and later[0][0] <= n:
                    out.writerow(heapq.heappop(later)[2])
                    counts["rows"] += 1
                    counts["duplicates"] += 1
                idx = min(int(customers * rng.random() ** 1.7), customers - 1)
                used[idx] = 1
                nick, name, mobile, address, alipay = people.person(idx)
                counts["shared_phone_rows"] += people.twin(idx)
                created = start + dt.timedelta(seconds=int(span * (n + rng.random()) / orders))
                age_days = (finish - created).days
                roll = rng.random()
                if age_days < 20:
                    state = (
                        "等待买家付款",
                        "买家已付款，等待卖家发货",
                        "卖家已发货，等待买家确认",
                        "交易成功",
                    )[int(roll * 4)]
                elif roll < 0.08:
                    state = "交易关闭"
                elif roll < 0.12:
                    state = "refund"
                elif roll < 0.15:
                    state = "卖家已发货，等待买家确认"
                else:
                    state = "交易成功"
                lines = []
                for _ in range(1 if rng.random() < 0.75 else rng.randint(2, 3)):
                    title, price, sku = products[rng.randrange(240)]
                    lines.append((title, price, sku, 1 if rng.random() < 0.85 else rng.randint(2, 4)))
                goods = sum(price * count for _, price, _, count in lines)
                postage = 0.0 if goods >= 99 or rng.random() < 0.6 else 10.0
                discount = 10.0 if goods > 200 and rng.random() < 0.3 else 0.0
                paid = goods + postage - discount
                unpaid = state == "等待买家付款" or (state == "交易关闭" and rng.random() < 0.6)
                refund = paid if state == "refund" else 0.0
                if state == "refund":
                    state = "交易关闭"
                masked = rng.random() < 0.3
                counts["masked_phones"] += masked
                phone = f"{mobile[:3]}****{mobile[7:]}" if masked else mobile
                paid_at = (
                    "" if unpaid else (created + dt.timedelta(seconds=rng.randint(10, 1800))).isoformat(" ")
                )
                order_no = f"{1_800_000_000_000_000_000 + n * 1000 + seed % 1000}"
                row = [""] * width
                row[0] = f'="{order_no}"'
                row[1] = nick
                row[2] = alipay or f"{mobile[:3]}****{mobile[7:]}"
                row[3] = f"{yuan}{_money(goods)}"
                row[4] = _money(postage)
                row[5] = "0"
                row[6] = _money(goods + postage)
                row[7] = "0"
                row[8] = "0.00" if unpaid else f"{yuan}{_money(paid)}"
                row[9] = "0"
                row[10] = state
                row[11] = "请尽快发货" if rng.random() < 0.05 else ""
                row[12] = name
                row[13] = address
                row[14] = "快递"
                row[16] = f"'{phone}"
                row[17] = created.isoformat(" ")
                row[18] = paid_at
                row[19] = "，".join(title for title, _, _, _ in lines)
                row[20] = str(len(lines))
                row[21] = "" if unpaid else f'="YT{_mix(n) % 10**13:013d}"'
                row[22] = "" if unpaid else CARRIERS[n % 5]
                row[24] = str(sum(count for *_, count in lines))
                row[25] = store_id
                row[26] = store_name
                row[27] = "买家不想买了" if state == "交易关闭" and unpaid else ""
                row[31] = "手机订单" if rng.random() < 0.8 else ""
                row[44] = _money(refund)
                out.writerow(row)
                counts["orders"] += 1
                counts["rows"] += 1
                if items:
                    for title, price, sku, count in lines:
                        items.writerow(
                            [
                                f'="{order_no}"',
                                title,
                                _money(price),
                                count,
                                sku,
                                "颜色分类：默认",
                                "",
                                "",
                                state,
                                sku,
                            ]
                        )
                        counts["items"] += 1
                if rng.random() < 0.04 and not unpaid and state != "交易关闭":
                    repeat = list(row)  # the same order exported again later, in a later state
                    if state == "交易成功":
                        repeat[44] = _money(round(paid / 2, 2))  # partly refunded after the sale
                    elif rng.random() < 0.7:
                        repeat[10] = "交易成功"
                    else:
                        repeat[10] = "交易关闭"
                        repeat[44] = _money(paid)
                    heapq.heappush(later, (n + rng.randint(100, 3000), n, repeat))
            while later:
                out.writerow(heapq.heappop(later)[2])
                counts["rows"] += 1
                counts["duplicates"] += 1
    finally:
        if items_file:
            items_file.close()
    counts["customers"] = sum(used)
    return counts
