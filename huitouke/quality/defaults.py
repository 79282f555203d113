"""The two built-in audit templates (DOMAIN §7: mystery shoppers score each outlet, tricky questions included).

Shop data, so the texts are Chinese as the shop's staff read them; a shop may edit or retire its copy.
Each item: (code, kind, weight, scale max, N/A allowed, question, how to check).
"""

from __future__ import annotations

ONLINE = {
    "key": "online-shop",
    "name": "网店暗访（标准版）",
    "kind": "online",
    "sections": [
        ("客服响应", [
            ("reply_time", "scale", 3, 4, False, "首次回复速度",
             "4=30秒内，3=1分钟内，2=3分钟内，1=10分钟内，0=更久或无人回复"),
            ("reply_tone", "scale", 2, 4, False, "语气亲切、有称呼、不敷衍", "0–4 分；机械复制回复最多 2 分"),
            ("tricky_question", "scale", 3, 4, False, "刁钻问题的处理（故意提问）",
             "例如：“这件和隔壁店一模一样，为什么贵 20 元？”诚实、专业、不贬低同行得 4 分"),
            ("chat_log", "photo", 0, 0, True, "聊天记录截图", ""),
        ]),
        ("商品与描述", [
            ("description_accurate", "yes_no", 3, 0, False, "实物与描述、图片一致（颜色、尺寸、材质）", ""),
            ("size_advice", "yes_no", 1, 0, True, "客服给出可靠的尺码建议", "未询问尺码时选“不适用”"),
        ]),
        ("包装与发货", [
            ("packaging", "scale", 2, 4, False, "包装完好、整洁，商品出厂前已检查（线头、熨烫）", ""),
            ("delivery_speed", "scale", 3, 4, False, "发货与到货速度",
             "4=24小时内发货，3=48小时内，2=72小时内，1=更久，0=超过承诺"),
            ("parcel_photo", "photo", 0, 0, True, "开箱照片", ""),
        ]),
        ("售后", [
            ("after_sales", "scale", 3, 4, False, "退换货/问题处理：响应、道歉、方案、确认结果", ""),
            ("after_sales_notes", "text", 0, 0, True, "售后过程记录", ""),
        ]),
    ],
}

OFFLINE = {
    "key": "offline-boutique",
    "name": "门店暗访（标准版）",
    "kind": "offline",
    "sections": [
        ("迎宾", [
            ("greeting", "yes_no", 2, 0, False, "进店 10 秒内有人问候、微笑、目光接触", ""),
            ("no_pressure", "scale", 1, 4, False, "让顾客自在浏览，不紧跟、不催促", ""),
        ]),
        ("商品知识", [
            ("product_knowledge", "scale", 3, 4, False, "能讲清面料、版型、搭配和洗护", ""),
            ("tricky_question", "scale", 2, 4, False, "刁钻问题的处理（故意提问）",
             "例如：“这款去年是不是打过五折？”诚实、不编造、能说明价值得 4 分"),
        ]),
        ("试衣间", [
            ("fitting_room", "scale", 2, 4, True, "试衣间整洁、有挂钩和镜子，导购主动递换尺码", ""),
            ("fitting_room_photo", "photo", 0, 0, True, "试衣间照片", ""),
        ]),
        ("收银", [
            ("checkout", "scale", 2, 4, False, "收银快速准确，主动告知会员权益与积分", ""),
            ("member_invite", "yes_no", 1, 0, True, "邀请登记会员（只问姓名和电话）", "已是会员时选“不适用”"),
        ]),
        ("送别与回访", [
            ("farewell", "yes_no", 1, 0, False, "送到门口并道别，欢迎再来", ""),
            ("follow_up", "yes_no", 2, 0, True, "一周内收到得体的回访（不推销）", "未留联系方式时选“不适用”"),
            ("visit_notes", "text", 0, 0, True, "其他观察", ""),
        ]),
    ],
}

DEFAULT_TEMPLATES = (ONLINE, OFFLINE)
