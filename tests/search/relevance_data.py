"""A judged relevance set: bilingual notes and queries with the notes a person would want.

Each topic has a Chinese and an English note written independently (not translations),
a Chinese query and an English query. Judgements:

* same language: the Chinese query -> the Chinese note; the English query -> the English note;
* cross-lingual: the English query -> the Chinese note; the Chinese query -> the English note
  (the query's words never occur in the judged note);
* mixed: a query mixing both scripts -> the mixed-language notes written for it.
"""

from __future__ import annotations

# key: (zh title, zh body, en title, en body, zh query, en query)
TOPICS: dict[str, tuple[str, str, str, str, str, str]] = {
    "hotpot": (
        "重庆火锅",
        "九宫格牛油锅底，毛肚和鸭肠七上八下，辣得过瘾",
        "Chongqing hotpot",
        "Beef tallow broth, tripe dipped for seconds, numbing and spicy",
        "火锅",
        "spicy hotpot",
    ),
    "dumplings": (
        "手工包饺子",
        "猪肉白菜馅，皮要擀得中间厚边缘薄",
        "Homemade dumplings",
        "Pork and cabbage filling, roll the wrappers thin at the edges",
        "包饺子",
        "dumplings recipe",
    ),
    "pandas": (
        "成都看熊猫",
        "一早去熊猫基地，大熊猫在吃竹子，太可爱了",
        "Pandas in Chengdu",
        "Go early to the panda base to watch them eat bamboo",
        "大熊猫",
        "panda base",
    ),
    "kyoto": (
        "京都寺庙",
        "清水寺的秋天红叶，人很多但值得",
        "Kyoto temples",
        "Kiyomizu-dera in autumn with red maple leaves, crowded but worth it",
        "京都红叶",
        "kyoto temple",
    ),
    "latte_art": (
        "咖啡拉花",
        "练了一个月终于拉出爱心，奶泡要细腻",
        "Latte art practice",
        "After a month I can pour a heart, the milk foam must be silky",
        "咖啡拉花",
        "latte art",
    ),
    "skincare": (
        "敏感肌护肤",
        "换季泛红，用了修护面霜和温和洁面",
        "Sensitive skin routine",
        "Redness when seasons change, gentle cleanser and a barrier repair cream",
        "敏感肌",
        "sensitive skin",
    ),
    "hiking": (
        "香山徒步",
        "周末爬香山，山顶看北京城，腿软了",
        "Hiking Fragrant Hills",
        "A weekend climb with a view over Beijing from the summit",
        "徒步爬山",
        "hiking trail",
    ),
    "camping": (
        "露营装备",
        "帐篷、睡袋、折叠椅，第一次露营清单",
        "Camping gear list",
        "Tent, sleeping bag and folding chair for a first camping trip",
        "露营装备",
        "camping gear",
    ),
    "cat": (
        "猫咪日常",
        "我家橘猫又胖了，每天睡十几个小时",
        "My cat's day",
        "Our orange tabby keeps getting fatter and sleeps all day",
        "橘猫",
        "orange cat",
    ),
    "running": (
        "跑步训练",
        "准备半程马拉松，每周三次慢跑加一次长距离",
        "Half marathon training",
        "Three easy runs and one long run every week before the race",
        "半程马拉松",
        "marathon training",
    ),
    "yoga": (
        "居家瑜伽",
        "早上二十分钟拉伸，肩颈舒服多了",
        "Yoga at home",
        "Twenty minutes of stretching every morning relieves my neck and shoulders",
        "瑜伽拉伸",
        "yoga stretching",
    ),
    "bubble_tea": (
        "奶茶测评",
        "这家珍珠奶茶的波霸很有嚼劲，三分糖刚好",
        "Bubble tea review",
        "Chewy tapioca pearls, thirty percent sugar is just right",
        "珍珠奶茶",
        "bubble tea",
    ),
    "ootd": (
        "通勤穿搭",
        "白衬衫配阔腿裤，简单又显高",
        "Office outfit",
        "A white shirt with wide-leg trousers looks tall and simple",
        "通勤穿搭",
        "office outfit",
    ),
    "nails": (
        "秋冬美甲",
        "酒红色猫眼美甲，显白又高级",
        "Autumn nails",
        "Burgundy cat-eye manicure that flatters pale skin",
        "美甲",
        "manicure",
    ),
    "sourdough": (
        "酸面包",
        "自己养的酵种，烤出来的面包孔洞很大",
        "Sourdough bread",
        "My own starter gives an open crumb and a crackly crust",
        "酵种面包",
        "sourdough",
    ),
    "guitar": (
        "学吉他",
        "零基础自学三个月，能弹简单的和弦了",
        "Learning guitar",
        "Three months self-taught and I can play simple chords",
        "吉他",
        "guitar chords",
    ),
    "hanfu": (
        "汉服拍照",
        "穿汉服在古镇拍照，很有氛围感",
        "Hanfu photoshoot",
        "Wearing traditional Chinese dress for photos in an old water town",
        "汉服",
        "hanfu photos",
    ),
    "study_abroad": (
        "留学申请",
        "准备雅思和文书，申请英国硕士",
        "Applying to grad school",
        "IELTS and personal statement for a master's degree in the UK",
        "留学申请",
        "grad school application",
    ),
    "budget": (
        "省钱攻略",
        "每月记账，外卖换成自己做饭，存下三千",
        "Saving money",
        "Tracking expenses and cooking instead of takeout saved a lot each month",
        "记账省钱",
        "saving money",
    ),
    "houseplants": (
        "绿植养护",
        "龟背竹叶子发黄，可能是浇水太多",
        "Houseplant care",
        "Monstera leaves turning yellow usually means overwatering",
        "龟背竹",
        "monstera",
    ),
    "xian": (
        "西安美食",
        "回民街的肉夹馍和羊肉泡馍，吃到撑",
        "Food in Xi'an",
        "Roujiamo and lamb soup with bread in the Muslim Quarter",
        "肉夹馍",
        "xian street food",
    ),
    "shanghai_night": (
        "外滩夜景",
        "晚上八点的外滩灯光，陆家嘴的高楼很震撼",
        "The Bund at night",
        "Skyscrapers of Lujiazui lit up across the river",
        "外滩夜景",
        "bund night view",
    ),
    "ski": (
        "北海道滑雪",
        "粉雪太好滑了，新手也能上中级道",
        "Skiing in Hokkaido",
        "Powder snow so soft that beginners manage intermediate slopes",
        "滑雪",
        "powder skiing",
    ),
    "dog": (
        "金毛训练",
        "教狗狗坐下和握手，用零食奖励",
        "Training my golden retriever",
        "Teaching sit and shake with treats as rewards",
        "训狗",
        "dog training",
    ),
    "piano": (
        "钢琴练习",
        "每天练一小时，肖邦夜曲终于弹顺了",
        "Piano practice",
        "An hour a day and Chopin's nocturne finally flows",
        "钢琴",
        "piano nocturne",
    ),
    "photography": (
        "手机摄影",
        "用人像模式拍日落，逆光剪影很好看",
        "Phone photography",
        "Portrait mode at sunset makes beautiful backlit silhouettes",
        "手机拍照",
        "phone photography",
    ),
    "lipstick": (
        "口红试色",
        "五支豆沙色口红对比，黄皮也能驾驭",
        "Lipstick swatches",
        "Five rosy nude lipsticks compared on warm skin tones",
        "口红试色",
        "lipstick swatch",
    ),
    "renovation": (
        "小户型装修",
        "六十平米两居室，奶油风装修总结",
        "Small apartment renovation",
        "A sixty square metre flat redone in a cream colour style",
        "装修",
        "apartment renovation",
    ),
    "baby": (
        "宝宝辅食",
        "六个月开始加辅食，南瓜泥和米粉",
        "Baby's first foods",
        "Starting solids at six months with pumpkin puree and rice cereal",
        "辅食",
        "baby food",
    ),
    "fitness": (
        "健身减脂",
        "三个月减了十斤，力量训练加控制饮食",
        "Fat loss at the gym",
        "Lost five kilos in three months with weights and a calorie deficit",
        "减脂",
        "fat loss",
    ),
    "tea": (
        "功夫茶",
        "用盖碗泡铁观音，第三泡最香",
        "Gongfu tea",
        "Brewing Tieguanyin oolong in a gaiwan, the third infusion is best",
        "铁观音",
        "oolong tea",
    ),
    "reading": (
        "读书笔记",
        "读完《活着》，哭了好几次",
        "Book notes",
        "Finished To Live by Yu Hua and cried several times",
        "读书",
        "book review",
    ),
    "yunnan": (
        "大理洱海",
        "骑电动车环洱海，苍山下的白族村子",
        "Erhai Lake in Dali",
        "Cycling around the lake below the Cangshan mountains",
        "洱海",
        "dali lake",
    ),
    "cake": (
        "生日蛋糕",
        "第一次做戚风蛋糕，奶油裱花有点歪",
        "Birthday cake",
        "My first chiffon cake, the buttercream piping came out wonky",
        "戚风蛋糕",
        "chiffon cake",
    ),
    "gaming": (
        "原神攻略",
        "新角色配队推荐，深渊满星思路",
        "Genshin Impact guide",
        "Team building for the new character and clearing the abyss",
        "原神",
        "genshin team",
    ),
    "kpop": (
        "演唱会",
        "抢到了演唱会门票，内场第三排",
        "Concert tickets",
        "Got floor seats in the third row for the concert",
        "演唱会门票",
        "concert tickets",
    ),
    "rain_boots": (
        "雨天穿搭",
        "梅雨季必备雨靴和防水风衣",
        "Rainy day outfit",
        "Rain boots and a waterproof trench for the wet season",
        "雨靴",
        "rain boots",
    ),
    "knitting": (
        "织毛衣",
        "第一次织围巾，平针加麻花针",
        "Knitting a scarf",
        "My first scarf with garter stitch and cables",
        "织围巾",
        "knitting scarf",
    ),
    "sichuan_opera": (
        "川剧变脸",
        "在成都茶馆看变脸，速度太快了",
        "Face-changing opera",
        "Watched Sichuan opera masks change in a Chengdu teahouse",
        "川剧变脸",
        "face changing opera",
    ),
    "dim_sum": (
        "广式早茶",
        "虾饺、烧卖、凤爪，一盅两件",
        "Cantonese dim sum",
        "Har gow, siu mai and chicken feet with a pot of tea",
        "早茶",
        "dim sum",
    ),
}

# Mixed-script notes and the mixed queries that should find them.
MIXED_NOTES: dict[str, tuple[str, str]] = {
    "sanlitun": ("周末", "今天去了三里屯 and it was amazing, the cocktails were great"),
    "vlog": ("我的vlog", "第一次拍vlog，用手机 shot in 4K"),
    "ootd_mixed": ("OOTD", "今日穿搭 oversized blazer 配牛仔裤"),
    "citywalk": ("City walk", "上海citywalk路线，武康路 coffee shops"),
    "brunch": ("Brunch", "周末brunch 吃了 eggs benedict 和牛油果吐司"),
    "iphone": ("开箱", "iPhone 新机开箱 camera 真的很强"),
    "matcha": ("抹茶", "宇治抹茶 latte 太好喝了"),
    "disney": ("迪士尼", "上海Disneyland 烟花 show 排队攻略"),
    "ikea": ("宜家", "IKEA 好物推荐 收纳盒 storage boxes"),
    "starbucks": ("星巴克", "Starbucks 新品 桂花拿铁 osmanthus latte"),
}

MIXED_QUERIES: list[tuple[str, list[str]]] = [
    ("三里屯 cocktails", ["sanlitun"]),
    ("vlog 手机", ["vlog"]),
    ("oversized 穿搭", ["ootd_mixed"]),
    ("citywalk 武康路", ["citywalk"]),
    ("brunch 牛油果", ["brunch"]),
    ("iPhone 开箱", ["iphone"]),
    ("抹茶 latte", ["matcha"]),
    ("Disneyland 烟花", ["disney"]),
    ("IKEA 收纳", ["ikea"]),
    ("桂花 latte", ["starbucks"]),
]

# Notes that should not be returned by anything above (they share some words).
DISTRACTORS: list[tuple[str, str]] = [
    ("火车站", "今天在火车站等了三个小时"),
    ("Art museum", "An afternoon at the modern art museum"),
    ("天气", "今天下雨了，心情一般"),
    ("Weather", "Cloudy with a chance of rain all week"),
    ("会议", "又开了一整天的会"),
    ("Meeting notes", "Quarterly planning meeting, nothing exciting"),
]


def judged_queries() -> list[tuple[str, str, list[str]]]:
    """(category, query, relevant note keys)."""
    out: list[tuple[str, str, list[str]]] = []
    for key, (_zt, _zb, _et, _eb, zq, eq) in TOPICS.items():
        out.append(("zh", zq, [f"{key}:zh"]))
        out.append(("en", eq, [f"{key}:en"]))
        out.append(("cross-lingual en->zh", eq, [f"{key}:zh"]))
        out.append(("cross-lingual zh->en", zq, [f"{key}:en"]))
    for q, keys in MIXED_QUERIES:
        out.append(("mixed", q, [f"{k}:mixed" for k in keys]))
    return out
