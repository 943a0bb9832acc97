"""Who the demo people are and what they write about, in Chinese and English.

Notes are assembled from the pieces below (title, opener, details, closer, tags)
by :mod:`bridgenote.seed` with a seeded random generator, so the demo data is
the same on every machine. Traditional-Chinese writers use #旅遊 and #貓稅 on
purpose: hashtag matching folds them onto #旅游 and #猫税.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ZH = "zh-Hans"
ZH_HANT = "zh-Hant"
EN = "en"

TOPICS = ("food", "travel", "pets", "skincare", "study", "fashion", "refugee")


@dataclass(frozen=True)
class Persona:
    username: str
    display_name: str
    lang: str  # the language they write in: zh-Hans, zh-Hant or en
    region: str
    bio: str
    topics: tuple[str, ...]
    popularity: float = 1.0  # relative pull for followers, likes and how much they post
    bilingual: bool = False  # reads both languages and sometimes writes both
    interests: tuple[str, ...] = field(default=())


DEMO = Persona(
    username="demo",
    display_name="Demo 演示账号",
    lang=EN,
    region="US",
    bio="The demo account: reads Chinese and English. 演示账号，中英双语都看。",
    topics=("food", "travel", "pets", "study"),
    popularity=1.5,
    bilingual=True,
)

# Interleaved Chinese / English so that a small ``users`` count still gets both languages.
PERSONAS: tuple[Persona, ...] = (
    Persona("maomao_mama", "三只猫的铲屎官", ZH, "CN", "家有三猫：年糕、汤圆、芝麻｜每天按时交猫税🐱", ("pets",), 6.0),
    Persona(
        "tiktok_refugee_jess",
        "Jess (TikTok refugee)",
        EN,
        "US",
        "Arrived January 2025 🫡 here for the cats and the recipes. Learning Mandarin one word a day.",
        ("refugee", "pets", "food"),
        4.0,
    ),
    Persona(
        "xiaolu_travels", "小鹿爱旅行", ZH, "CN", "周末就出发｜去过23个城市｜攻略都在合集里 🦌", ("travel", "food"), 5.0
    ),
    Persona(
        "maya_in_chengdu",
        "Maya in Chengdu",
        EN,
        "CN",
        "American living in Chengdu · learning 中文 · spicy food survivor 🌶",
        ("food", "travel", "study"),
        5.0,
        bilingual=True,
    ),
    Persona("chengdu_ala", "成都吃货阿辣", ZH, "CN", "无辣不欢🌶 成都土著，带你吃遍苍蝇馆子", ("food",), 3.0),
    Persona(
        "cattax_collector",
        "Cat Tax Collector",
        EN,
        "US",
        "Mayor of cat tax. Submit your cats. 🐈",
        ("pets", "refugee"),
        4.5,
    ),
    Persona(
        "english_corner_li",
        "英语角李老师",
        ZH,
        "CN",
        "高中英语老师｜每天一句地道表达｜欢迎来英语角练口语",
        ("study", "refugee"),
        4.0,
        bilingual=True,
    ),
    Persona(
        "priya_eats_london",
        "Priya eats London",
        EN,
        "GB",
        "Dumplings, noodles and anything with chilli oil. London.",
        ("food", "travel"),
        2.0,
    ),
    Persona("jiangjiang_skin", "江江的护肤笔记", ZH, "CN", "敏感肌｜成分党｜不接广，只说真话", ("skincare",), 2.5),
    Persona(
        "ben_in_toronto",
        "Ben in Toronto",
        EN,
        "CA",
        "Teacher. Weekend road trips. Trying to read Chinese menus.",
        ("travel", "study"),
        1.2,
    ),
    Persona("sanlitun_ootd", "三里屯穿搭日记", ZH, "CN", "158小个子穿搭｜通勤&周末｜北京", ("fashion",), 2.0),
    Persona(
        "chloe_skin_diary",
        "Chloe's skin diary",
        EN,
        "AU",
        "Sensitive skin, SPF every day, honest reviews. Sydney.",
        ("skincare", "fashion"),
        1.5,
    ),
    Persona("amber_taipei", "安柏在台北", ZH_HANT, "TW", "台北生活｜咖啡廳與小旅行｜旅遊紀錄", ("travel", "food"), 2.0),
    Persona(
        "nyc_thrift_queen",
        "NYC Thrift Queen",
        EN,
        "US",
        "Everything I wear costs under $20. Brooklyn.",
        ("fashion",),
        1.8,
    ),
    Persona("shanghai_xiaomi", "上海小米", ZH, "CN", "沪漂第五年｜咖啡探店｜周末逛展", ("food", "travel"), 1.5),
    Persona(
        "study_with_sam",
        "Sam studies",
        EN,
        "GB",
        "Med student. Pomodoro evangelist. Learning Mandarin on the side.",
        ("study",),
        1.2,
    ),
    Persona("mochi_cat_tw", "麻糬的貓日常", ZH_HANT, "TW", "兩隻橘貓的日常 🐈 高雄", ("pets",), 2.0),
    Persona(
        "austin_bbq_dad",
        "Austin BBQ Dad",
        EN,
        "US",
        "Brisket, smoke rings and dad jokes. New here from TikTok.",
        ("food", "refugee"),
        1.0,
    ),
    Persona("yueyue_kaoyan", "月月考研中", ZH, "CN", "考研倒计时｜自律打卡｜英语二", ("study",), 1.2),
    Persona(
        "leah_hikes_bc",
        "Leah hikes BC",
        EN,
        "CA",
        "Trails, lakes, bears (from a distance). Vancouver.",
        ("travel",),
        1.0,
    ),
    Persona("hangzhou_aqing", "杭州喝茶的阿青", ZH, "CN", "西湖边长大｜茶与点心｜慢生活", ("food", "travel"), 1.0),
    Persona(
        "melbourne_flatwhite", "Melbourne coffee nerd", EN, "AU", "Flat whites and laneways. Melbourne.", ("food",), 0.8
    ),
    Persona("wang_dalan", "王大懒和她的猫", ZH, "CN", "社畜｜回家只想躺平吸猫", ("pets",), 1.0),
    Persona(
        "tom_learns_zhongwen",
        "Tom learns 中文",
        EN,
        "GB",
        "HSK 3 in progress. Correct my Chinese please! 请纠正我的中文",
        ("study", "refugee"),
        1.0,
        bilingual=True,
    ),
    Persona("guangzhou_zaocha", "广州早茶王", ZH, "CN", "一盅两件｜广州早茶地图", ("food",), 1.2),
    Persona(
        "rainy_seattle", "Rainy Days Seattle", EN, "US", "Two cats, one dog, lots of rain.", ("pets", "travel"), 0.8
    ),
    Persona(
        "sg_lin", "新加坡林小姐", ZH, "SG", "新加坡｜中英切换｜小贩中心爱好者", ("food", "travel"), 1.0, bilingual=True
    ),
    Persona(
        "kim_nightshift",
        "Kim (night shift nurse)",
        EN,
        "US",
        "ICU nurse. Skincare after 12h shifts. TikTok refugee.",
        ("refugee", "skincare"),
        0.8,
    ),
    Persona("chongqing_yejing", "重庆夜景控", ZH, "CN", "8D魔幻城市｜夜景机位分享", ("travel",), 1.5),
    Persona(
        "dani_in_dublin", "Dani in Dublin", EN, "IE", "Vintage, rain jackets and day trips.", ("fashion", "travel"), 0.8
    ),
    Persona("reganmian_girl", "热干面少女", ZH, "CN", "武汉｜过早日记", ("food",), 0.8),
    Persona(
        "ari_does_makeup",
        "Ari does makeup",
        EN,
        "US",
        "Makeup artist in LA. Obsessed with C-beauty right now.",
        ("skincare", "fashion"),
        1.0,
    ),
    Persona("harbin_xueren", "哈尔滨雪人", ZH, "CN", "冰城土著｜冬天来哈尔滨我请你吃冻梨", ("travel", "food"), 1.0),
    Persona(
        "hawker_hunter_sg", "Hawker Hunter SG", EN, "SG", "Ranking every chicken rice in Singapore.", ("food",), 0.8
    ),
    Persona("xian_lishige", "西安历史哥", ZH, "CN", "讲讲西安的老故事｜城墙骑行", ("travel", "study"), 0.8),
)

# ---------------------------------------------------------------- lexicons

PLACES: dict[str, dict[str, tuple[str, ...]]] = {
    "food": {
        ZH: ("玉林路", "宽窄巷子", "春熙路", "三里屯", "南锣鼓巷", "武康路", "上下九", "户部巷", "解放碑", "西湖边"),
        ZH_HANT: ("永康街", "師大夜市", "饒河夜市", "赤峰街", "大稻埕"),
        EN: (
            "Chinatown",
            "Borough Market",
            "Flushing",
            "Chengdu",
            "Kensington Market",
            "Maxwell Food Centre",
            "East Village",
        ),
    },
    "travel": {
        ZH: (
            "成都",
            "重庆洪崖洞",
            "大理洱海",
            "杭州西湖",
            "哈尔滨中央大街",
            "西安城墙",
            "张家界",
            "厦门鼓浪屿",
            "丽江古城",
            "青岛",
        ),
        ZH_HANT: ("九份", "淡水", "陽明山", "台南", "花蓮"),
        EN: (
            "Chengdu",
            "Lake Louise",
            "the Scottish Highlands",
            "Kyoto",
            "Big Sur",
            "the Great Ocean Road",
            "Lisbon",
            "Hong Kong",
            "Taipei",
            "Chongqing",
        ),
    },
}
PLACES["fashion"] = {
    ZH: ("三里屯", "武康路", "太古里", "798艺术区"),
    ZH_HANT: ("信義區", "東區"),
    EN: ("Brooklyn", "Shoreditch", "Melrose", "Temple Bar"),
}
DISHES = {
    ZH: (
        "火锅",
        "串串",
        "冒菜",
        "钵钵鸡",
        "担担面",
        "小笼包",
        "生煎",
        "肠粉",
        "虾饺",
        "热干面",
        "烤鸭",
        "螺蛳粉",
        "酸菜鱼",
        "煲仔饭",
    ),
    ZH_HANT: ("牛肉麵", "滷肉飯", "小籠包", "珍珠奶茶", "蚵仔煎", "芒果冰"),
    EN: (
        "hotpot",
        "dan dan noodles",
        "soup dumplings",
        "dim sum",
        "mapo tofu",
        "brisket",
        "laksa",
        "chicken rice",
        "spicy wontons",
        "hand-pulled noodles",
        "bubble tea",
    ),
}
PET_NAMES = {
    ZH: ("年糕", "汤圆", "芝麻", "橘子", "煤球", "布丁", "可乐", "馒头"),
    ZH_HANT: ("麻糬", "豆花", "芋圓", "黑糖"),
    EN: ("Mochi", "Biscuit", "Luna", "Pepper", "Tofu", "Waffles", "Nugget", "Miso"),
}
PRODUCTS = {
    ZH: ("防晒", "精华", "面霜", "洁面", "水乳", "面膜", "卸妆油"),
    ZH_HANT: ("防曬", "精華液", "乳霜"),
    EN: ("sunscreen", "niacinamide serum", "moisturiser", "cleanser", "toner", "sheet mask", "cleansing oil"),
}
CITIES_EN = ("Ohio", "Texas", "Manchester", "Toronto", "Sydney", "Chicago", "Seattle", "Dublin")

# ---------------------------------------------------------------- notes

TITLES: dict[str, dict[str, tuple[str, ...]]] = {
    "food": {
        ZH: (
            "{place}这家{dish}我愿称之为天花板",
            "人均50吃到扶墙出！{dish}yyds",
            "本地人才知道的{dish}小店",
            "周末在家复刻{dish}，成功了！",
            "{place}美食地图｜吃了三天总结",
            "这碗{dish}让我原地复活",
        ),
        ZH_HANT: ("{place}的{dish}真的太好吃了", "台北在地人推薦的{dish}", "排隊一小時的{dish}值得嗎？"),
        EN: (
            "Best {dish} I've had outside of China?",
            "I tried making {dish} at home",
            "{place}: a {dish} crawl",
            "Rating every {dish} near {place}",
            "This {dish} changed my life (not exaggerating)",
            "Cheap eats in {place} 🍜",
        ),
    },
    "travel": {
        ZH: (
            "{place}三天两晚攻略，建议收藏",
            "{place}小众机位，人少景美",
            "第一次来{place}，被惊艳到了",
            "一个人的{place}citywalk",
            "{place}避坑指南｜真的别这样玩",
            "周末去哪儿｜{place}一日游",
        ),
        ZH_HANT: ("{place}小旅行｜一日遊路線", "{place}拍照景點整理", "週末去{place}走走"),
        EN: (
            "3 days in {place}: my full itinerary",
            "{place} made me cry (happy tears)",
            "Solo trip to {place} 🧳",
            "Things nobody tells you about {place}",
            "{place} at golden hour",
            "Is {place} worth it? Honest review",
        ),
    },
    "pets": {
        ZH: (
            "今日猫税已交🐱",
            "{pet}又在搞事情了",
            "交猫税！我家{pet}营业中",
            "养猫之后我的生活变成了这样",
            "{pet}的一天｜铲屎官视角",
            "当猫咪听到开罐头的声音",
        ),
        ZH_HANT: ("今日貓稅🐈", "{pet}的日常", "橘貓{pet}又胖了"),
        EN: (
            "Cat tax 🐈 meet {pet}",
            "{pet} would like a word",
            "Paying my cat tax as instructed",
            "{pet} discovered the sunbeam",
            "My cat {pet} vs. the cardboard box",
            "Daily {pet} update",
        ),
    },
    "skincare": {
        ZH: (
            "敏感肌空瓶记｜这几个真的会回购",
            "{product}测评：{n}款横向对比",
            "换季烂脸自救指南",
            "平价{product}也能这么好用？",
            "成分党告诉你{product}怎么选",
        ),
        ZH_HANT: ("{product}使用心得", "敏感肌的換季保養"),
        EN: (
            "My night routine after a 12h shift",
            "{product} showdown: {n} tried, 1 winner",
            "C-beauty finds that surprised me",
            "Empties: what I'd repurchase",
            "Sensitive skin? Read this before buying {product}",
        ),
    },
    "study": {
        ZH: (
            "英语角｜今天学一句地道表达",
            "考研倒计时{n}天，今日打卡",
            "一个月英语口语进步的方法",
            "美国网友教我的{n}个俚语",
            "学习桌改造｜专注力翻倍",
            "英语角开张啦，欢迎来练口语",
        ),
        ZH_HANT: ("讀書打卡第{n}天", "英文學習筆記"),
        EN: (
            "Day {n} of learning Chinese 📚",
            "Chinese slang I learned this week",
            "Study with me: 4 pomodoros",
            "Language exchange? Teach me Chinese, I'll teach you English",
            "My desk setup for exam season",
            "The Chinese word that broke my brain",
        ),
    },
    "fashion": {
        ZH: (
            "小个子秋冬穿搭｜显高10cm",
            "一周通勤穿搭不重样",
            "{place}街拍｜今日ootd",
            "百元内的宝藏单品",
            "这样穿真的很出片",
        ),
        ZH_HANT: ("今日穿搭｜{place}", "秋冬穿搭分享"),
        EN: (
            "Thrifted head to toe for $18",
            "OOTD in {place}",
            "5 ways to style one trench coat",
            "What I wore this week",
            "Outfit inspo from Shanghai street style",
        ),
    },
    "refugee": {
        ZH: (
            "欢迎TikTok难民！猫税我先交为敬",
            "中美网友对账，我先来",
            "英语角｜教外国朋友一句中文",
            "美国朋友问我的{n}个问题",
            "这两天的小红书太好玩了",
            "给新来的朋友们的使用指南",
        ),
        ZH_HANT: ("歡迎新朋友！貓稅先交", "中美網友對賬"),
        EN: (
            "Hi from a TikTok refugee 👋",
            "TikTok refugee here, paying my cat tax",
            "Day {n} on here and I'm obsessed",
            "Is this how I post? 🫣",
            "My first Chinese words",
            "Hello from {city}! 你好！",
            "Comparing grocery bills with Chinese friends",
        ),
    },
}

OPENERS: dict[str, dict[str, tuple[str, ...]]] = {
    "food": {
        ZH: (
            "姐妹们听我说，这家店真的绝了！",
            "本来只是路过，结果排了半小时队。",
            "作为{place}土著，这家我从小吃到大。",
            "上周朋友带我去的，回来一直念念不忘。",
            "今天在家复刻了{dish}，比外卖还香。",
        ),
        ZH_HANT: ("這家真的太好吃了，朋友帶我來的。", "每次回台北一定要吃的{dish}。"),
        EN: (
            "Okay I have to talk about this {dish}.",
            "A friend dragged me here and I'm so glad she did.",
            "Made {dish} at home for the first time and honestly? Not bad.",
            "I've been to {place} five times this month. For this.",
        ),
    },
    "travel": {
        ZH: (
            "终于来了心心念念的{place}！",
            "这次行程是临时决定的，没想到这么惊喜。",
            "整理了一下这次{place}的路线，供大家参考。",
            "工作日请假出来玩，人少到像包场。",
        ),
        ZH_HANT: ("終於來到{place}了！", "趁著週末跑去{place}走走。"),
        EN: (
            "Finally made it to {place}!",
            "This trip was a last-minute decision and it was perfect.",
            "Putting my {place} itinerary here so I stop getting DMs about it 😂",
            "I went to {place} alone and loved every minute.",
        ),
    },
    "pets": {
        ZH: (
            "{pet}今天又拆家了，但是看在这么可爱的份上原谅它。",
            "每天下班回家第一件事：吸猫。",
            "大家要的猫税来了！",
            "{pet}今天解锁了新睡姿。",
        ),
        ZH_HANT: ("{pet}今天又在窗邊曬太陽。", "貓稅來了！"),
        EN: (
            "As per the rules, here is my cat tax.",
            "{pet} has decided that my keyboard is a bed.",
            "You asked for cat tax, you get cat tax.",
            "{pet} refuses to acknowledge the $40 cat bed. Again.",
        ),
    },
    "skincare": {
        ZH: ("敏感肌换季真的太难了。", "用完了一整瓶{product}，来交作业。", "不接广，全部自费，放心看。"),
        ZH_HANT: ("換季皮膚又開始鬧脾氣了。",),
        EN: (
            "Sensitive skin girlies, this one's for you.",
            "I finished a whole bottle of {product}, so here's my review.",
            "Not sponsored, bought everything myself.",
        ),
    },
    "study": {
        ZH: (
            '今天的地道表达："I\'m so cooked"，意思是"我完蛋了"。',
            "打卡第{n}天，今天状态不错。",
            "很多同学问我怎么练口语，总结一下。",
            "最近和美国网友练口语，学到好多新词。",
        ),
        ZH_HANT: ("今天讀了三個小時，打卡。",),
        EN: (
            "Day {n} of learning Chinese and my tones are still a disaster.",
            "Today's word: 内卷 (nèi juǎn). It means... everything.",
            "I passed HSK 2!! Next stop HSK 3.",
            "Setting up my desk for exam season.",
        ),
    },
    "fashion": {
        ZH: ("158小个子也能穿出大长腿！", "今天的穿搭关键词：松弛感。", "最近很爱这套配色。"),
        ZH_HANT: ("今天的穿搭很舒服。",),
        EN: (
            "Thrift haul turned outfit.",
            "Trying the Shanghai street-style look.",
            "This coat was $12 and I refuse to take it off.",
        ),
    },
    "refugee": {
        ZH: (
            "最近来了好多美国朋友，欢迎欢迎！",
            "看到大家都在交猫税，我也来凑个热闹。",
            "中美网友对账真的太有意思了。",
            "英语角开课啦，今天教大家几句美国年轻人常用的话。",
        ),
        ZH_HANT: ("最近好多新朋友，歡迎！",),
        EN: (
            "Hi! I came here from TikTok like everyone else.",
            "Everyone told me I have to pay the cat tax first, so here goes.",
            "I don't speak Chinese (yet) but everyone has been so kind.",
            "I'm from {city} and I have so many questions.",
        ),
    },
}

DETAILS: dict[str, dict[str, tuple[str, ...]]] = {
    "food": {
        ZH: (
            "汤底是牛油的，麻辣鲜香，毛肚七上八下刚刚好。",
            "老板人超好，还送了我们一碗冰粉。",
            "人均不到60，分量很足。",
            "建议早点去，晚上六点以后要排队。",
            "招牌必点，其他的可以随意。",
            "辣度可以选，微辣对外地朋友很友好。",
            "蘸料一定要试试香油蒜泥。",
            "环境一般，但是味道真的没话说。",
        ),
        ZH_HANT: ("湯頭很濃，麵條Q彈。", "排隊大概四十分鐘，但值得。", "老闆很親切，還多送了一份小菜。"),
        EN: (
            "The broth was so good I drank it like soup. Which, I guess, it is.",
            "Ordered mild and still cried. Worth it.",
            "Under $15 for two people, which is unheard of around here.",
            "Go before 6pm, the line gets long.",
            "The chilli oil is made in-house and they sell jars of it.",
            "Tip: ask for the Sichuan peppercorn on the side.",
        ),
    },
    "travel": {
        ZH: (
            "Day1：到达后先去吃了一顿火锅，晚上逛夜景。",
            "Day2：早起看日出，人很少，光线绝美。",
            "交通：地铁很方便，打车也不贵。",
            "住宿：选在市中心，走路就能到大部分景点。",
            "拍照建议傍晚去，光线最好。",
            "门票提前在网上预约，现场买要排很久。",
        ),
        ZH_HANT: ("交通：捷運很方便，轉一次車就到。", "傍晚去最美，夕陽超漂亮。", "記得帶外套，山上很冷。"),
        EN: (
            "Day 1 was all food. Day 2 was all walking off the food.",
            "Public transport was easy even without speaking the language.",
            "Golden hour here is unreal, no filter needed.",
            "Book tickets online, the queue on site was an hour.",
            "Stayed near the old town so everything was walkable.",
            "Bring layers, the weather changes every ten minutes.",
        ),
    },
    "pets": {
        ZH: (
            "{pet}今年三岁，是个小吃货。",
            "每天早上六点准时叫我起床，比闹钟还准。",
            "最爱的玩具是一根绳子，几百块的猫爬架看都不看。",
            "刚捡回来的时候只有巴掌大，现在是个小胖子了。",
        ),
        ZH_HANT: ("{pet}今年兩歲，很愛撒嬌。", "每天都要躺在鍵盤上。"),
        EN: (
            "{pet} is 3 and has never once respected a closed door.",
            "Adopted from a shelter two years ago, best decision ever.",
            "Favourite toy: a hair tie. Expensive toys: ignored.",
            "Wakes me up at 6am sharp for breakfast, every day.",
        ),
    },
    "skincare": {
        ZH: (
            "质地很轻薄，上脸不搓泥。",
            "用了两周，泛红明显好转。",
            "缺点是香味有点重，介意的慎入。",
            "早C晚A新手建议从低浓度开始。",
            "防晒一定要足量，一元硬币大小。",
        ),
        ZH_HANT: ("質地清爽，不會悶痘。",),
        EN: (
            "Lightweight, no white cast, doesn't pill under makeup.",
            "Two weeks in and the redness is way down.",
            "Downside: the fragrance is strong.",
            "Patch test first, always.",
            "Use more sunscreen than you think you need.",
        ),
    },
    "study": {
        ZH: (
            "1. I'm so cooked = 我完蛋了\n2. It's giving... = 有那种感觉了\n3. No cap = 真的，不骗你",
            "每天背20个单词，睡前复习一遍。",
            "用番茄钟学习法，25分钟专注+5分钟休息。",
            "和外国网友语言交换，效果比刷题好太多。",
            "今日完成：英语阅读两篇，政治一章，专业课真题一套。",
        ),
        ZH_HANT: ("今天完成兩章，明天繼續。",),
        EN: (
            "1. 好吃 (hǎo chī) = delicious\n2. 加油 (jiā yóu) = you got this\n3. 猫税 (māo shuì) = cat tax",
            "I'm doing 20 flashcards a day and a short podcast on my commute.",
            "My language exchange partner corrects my tones and I fix her slang.",
            "4 pomodoros done, tea consumed: too much.",
            "Tones are hard. Third tone is my nemesis.",
        ),
    },
    "fashion": {
        ZH: ("上衣是某宝百元内，裤子是优衣库。", "高腰裤+短外套，小个子显高秘诀。", "配色是燕麦色+咖啡色，很温柔。"),
        ZH_HANT: ("外套是古著店買的。",),
        EN: (
            "Coat: thrifted. Jeans: thrifted. Boots: my mom's from 1994.",
            "High waist + cropped jacket is the formula.",
            "Neutral tones all week because it's raining all week.",
        ),
    },
    "refugee": {
        ZH: (
            "欢迎大家！有问题可以在评论区问我，我尽量用英文回答。",
            "我们这边一斤鸡蛋大概五块钱人民币，你们那边呢？",
            '今天教一句："绝绝子" = absolutely amazing。',
            "看到这么多外国朋友来学中文，真的好开心。",
            "猫税附上，我家{pet}向大家问好。",
        ),
        ZH_HANT: ("歡迎大家來玩！", "貓稅附上，{pet}跟大家打招呼。"),
        EN: (
            "So far I've learned 你好 and 谢谢. Progress!",
            "My rent in {city} vs. what people here pay is... a conversation.",
            "People here are so wholesome, I'm not used to it.",
            "Here is {pet}, my official cat tax.",
            "Can someone explain what 'yyds' means? Everyone keeps commenting it.",
        ),
    },
}

CLOSERS: dict[str, tuple[str, ...]] = {
    ZH: (
        "建议收藏，下次用得上！",
        "有问题评论区见～",
        "你们还有什么推荐吗？",
        "就分享到这里啦，下次见！",
        "喜欢的话点个赞吧💕",
        "",
    ),
    ZH_HANT: ("有問題留言問我～", "大家還有推薦的嗎？", ""),
    EN: ("Save this for later!", "Ask me anything in the comments.", "What should I try next?", "More soon ✨", ""),
}

HASHTAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "food": {
        ZH: ("美食", "火锅", "探店", "吃货日常", "成都美食", "家常菜", "hotpot"),
        ZH_HANT: ("美食", "台北美食", "火鍋", "小吃"),
        EN: ("foodie", "hotpot", "火锅", "dimsum", "spicyfood", "homecooking", "cheapeats"),
    },
    "travel": {
        ZH: ("旅行", "旅游", "旅行攻略", "周末去哪儿", "citywalk", "小众景点"),
        ZH_HANT: ("旅遊", "小旅行", "台灣旅遊", "拍照景點"),
        EN: ("travel", "旅行", "solotravel", "chinatravel", "roadtrip", "wanderlust"),
    },
    "pets": {
        ZH: ("猫税", "猫咪", "铲屎官日常", "橘猫", "萌宠", "cattax"),
        ZH_HANT: ("貓稅", "貓咪", "橘貓"),
        EN: ("cattax", "猫税", "cats", "catsofbridgenote", "adoptdontshop"),
    },
    "skincare": {
        ZH: ("护肤", "敏感肌", "成分党", "好物分享", "平价好物"),
        ZH_HANT: ("保養", "敏感肌"),
        EN: ("skincare", "skincareroutine", "sensitiveskin", "spf", "cbeauty"),
    },
    "study": {
        ZH: ("英语角", "学习打卡", "考研", "自律", "英语学习"),
        ZH_HANT: ("讀書", "學習"),
        EN: ("studywithme", "learnchinese", "英语角", "languageexchange", "mandarin"),
    },
    "fashion": {
        ZH: ("穿搭", "ootd", "小个子穿搭", "通勤穿搭", "今日穿搭"),
        ZH_HANT: ("穿搭", "ootd"),
        EN: ("ootd", "fashion", "thrifted", "outfitinspo", "streetstyle"),
    },
    "refugee": {
        ZH: ("tiktokrefugee", "猫税", "英语角", "中美网友对账", "欢迎新朋友"),
        ZH_HANT: ("tiktokrefugee", "貓稅", "歡迎新朋友"),
        EN: ("tiktokrefugee", "cattax", "猫税", "newhere", "英语角", "hellofromamerica"),
    },
}

MENTION_LINES = {
    ZH: ("感谢 @{user} 的推荐！", "和 @{user} 一起去的～", "@{user} 你上次说的就是这家吧？"),
    ZH_HANT: ("謝謝 @{user} 推薦！",),
    EN: ("Thanks @{user} for the rec!", "Went with @{user} 🥰", "@{user} this is the one you told me about!"),
}

# The short English line a bilingual writer adds under a Chinese note (or the other way round).
SECOND_LANGUAGE_LINES = {
    ZH: ("中文版：超级推荐，一定要去！", "简单说：好吃、好玩、好拍。", "中文小结：值得收藏。"),
    EN: (
        "English version: highly recommend!",
        "TL;DR for my English-speaking friends: go.",
        "In English: worth it, save it!",
    ),
}

# ---------------------------------------------------------------- comments

# Anyone can say these under any note.
COMMENTS = {
    ZH: ("太好看了吧！", "收藏了", "已关注，期待更新", "感谢分享～", "好治愈", "yyds！", "绝绝子", "哈哈哈哈哈笑死"),
    ZH_HANT: ("好喜歡！", "收藏了", "謝謝分享～"),
    EN: (
        "This is so good 😍",
        "Thanks for sharing!",
        "Following for more",
        "Saving this",
        "yyds (I just learned this)",
    ),
}
TOPIC_COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "food": {
        ZH: ("求地址🙏", "这也太香了", "请问是哪家店？", "看饿了", "人均多少呀？", "下次去成都一定去"),
        ZH_HANT: ("看起來好好吃", "請問地址在哪？"),
        EN: ("Where is this??", "How much was it?", "I need this right now", "Adding to my list", "Recipe please 🙏"),
    },
    "travel": {
        ZH: ("我也想去", "收藏了，下次去", "照片好出片！", "几月份去比较好？", "攻略太详细了"),
        ZH_HANT: ("好美！", "下次也要去"),
        EN: (
            "Saving this for my trip",
            "Where is this??",
            "Adding to my bucket list",
            "What month did you go?",
            "Gorgeous",
        ),
    },
    "pets": {
        ZH: ("猫猫好可爱！！", "猫税已收到", "想rua", "这个眼神哈哈哈", "我家的也这样"),
        ZH_HANT: ("好可愛！！", "貓稅收到"),
        EN: ("Cat tax accepted 🐈", "I would die for this cat", "The face 😭", "My cat does the exact same thing"),
    },
    "skincare": {
        ZH: ("姐妹这个真的好用吗", "敏感肌可以用吗？", "同款get", "求链接"),
        ZH_HANT: ("敏感肌可以用嗎？",),
        EN: ("Is it ok for sensitive skin?", "Adding to cart", "What's your SPF?", "Love an honest review"),
    },
    "study": {
        ZH: ("这个表达学到了", "一起打卡！", "老师还有吗？", "收藏了，慢慢学", "加油！"),
        ZH_HANT: ("一起加油！",),
        EN: ("Learned something today!", "加油! (did I use it right?)", "Studying with you", "Teach me more please"),
    },
    "fashion": {
        ZH: ("同款get", "求链接", "好会穿！", "小个子友好"),
        ZH_HANT: ("好好看！",),
        EN: ("Obsessed with this fit", "Where's the coat from?", "Thrift queen!", "Need this outfit"),
    },
    "refugee": {
        ZH: ("欢迎欢迎！", "欢迎来小红书！", "你的中文很好！", "猫税收到，欢迎！", "这边的人都很友好的"),
        ZH_HANT: ("歡迎歡迎！",),
        EN: (
            "Welcome! 欢迎!",
            "Hi from Ohio 👋",
            "How do you say this in Chinese?",
            "Same, I just got here too",
            "This app is so wholesome",
        ),
    },
}
REPLIES = {
    ZH: ("谢谢喜欢～", "哈哈哈是的！", "地址在笔记里哦", "超推荐，去了告诉我", "欢迎！有问题随时问", "你说得对"),
    ZH_HANT: ("謝謝！", "地址在筆記裡喔"),
    EN: (
        "Thank you!!",
        "haha yes exactly",
        "It's in the note!",
        "Highly recommend, let me know if you go",
        "Welcome!",
        "So true",
    ),
}

BOARDS: tuple[tuple[str, str, bool], ...] = (
    ("Chengdu trip 成都之行", "travel", False),
    ("想去的地方 Places to go", "travel", False),
    ("Recipes to try 想做的菜", "food", False),
    ("猫猫合集 Cat tax archive", "pets", False),
    ("Skincare shelf 护肤清单", "skincare", True),
    ("Outfit ideas 穿搭灵感", "fashion", False),
    ("英语角笔记 English corner notes", "study", False),
    ("Welcome wagon 新朋友", "refugee", False),
    ("Secret gift ideas 🎁", "fashion", True),
)
