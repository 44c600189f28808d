"""What the demo shops are: their calendar, export columns, seeds and process parameters.

The data of :mod:`ecrm.io.demo`: the public constants (calendar, seeds, the raw
export columns of each shop) and the private parameters of the generating
process (rates of the data-quality cases, seasonality, each shop's categories,
prices, BG/NBD parameters and name lists) that :mod:`ecrm.io.demo_generate`
draws from. Changing a value here changes the generated shops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "APPAREL_FILES",
    "APPAREL_ORDER_COLUMNS",
    "APPAREL_PRODUCT_COLUMNS",
    "CUSTOMER_COLUMNS",
    "DEFAULT_SEEDS",
    "DEMO_END",
    "DEMO_INGEST_DATE",
    "DEMO_START",
    "FOOD_ORDER_COLUMNS",
    "SHOPS",
    "SUBSCRIPTION_ORDER_COLUMN",
    "TRUTH_COLUMNS",
    "spec_for",
]

#: First day of the demo calendar (fixed: never the machine clock).
DEMO_START = date(2023, 11, 1)
#: Last day of the demo calendar, inclusive (three years of history).
DEMO_END = date(2026, 10, 31)
#: The day the demo exports are ingested: the morning after the last order day.
DEMO_INGEST_DATE = DEMO_END + timedelta(days=1)
#: The demo shops, by name.
SHOPS: tuple[str, ...] = ("demo-apparel", "demo-food")
#: The seed each shop uses when ``seed`` is None.
DEFAULT_SEEDS: dict[str, int] = {"demo-apparel": 20231101, "demo-food": 20231102}

APPAREL_ORDER_COLUMNS: tuple[str, ...] = (
    "受注番号",
    "会員ID",
    "受注日時",
    "商品コード",
    "商品名",
    "数量",
    "小計",
    "販売チャネル",
    "受注ステータス",
)
APPAREL_PRODUCT_COLUMNS: tuple[str, ...] = (
    "商品コード",
    "商品名",
    "カテゴリ",
    "テイスト",
    "ブランド",
    "定価",
)
FOOD_ORDER_COLUMNS: tuple[str, ...] = (
    "order_no",
    "member_id",
    "order_date",
    "sku",
    "item_name",
    "qty",
    "line_total",
    "category",
    "flavor",
    "brand",
    "channel",
    "status",
    "定期購入ID",
)
#: The food export's 定期 column (the subscription a delivery belongs to, empty otherwise).
SUBSCRIPTION_ORDER_COLUMN = "定期購入ID"
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "email",
    "name",
    "phone",
    "prefecture",
    "registered_at",
    "birth_date",
    "gender",
    "mail_opt_in",
)
TRUTH_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "lambda_",
    "p_dropout",
    "spend_level",
    "alive_at_end",
    "n_orders",
    "channel",
    "entry_category",
    "fav_category",
    "fav_taste",
    "fav_brand",
)

MAX_ROUNDS = 2_000  # purchase rounds; λ ≤ 0.2 per day keeps real runs far below this
MAX_LAMBDA = 0.2  # purchases per day: at most one every five days on average
REPEAT_CHANNEL_STAY = 0.85
CANCEL_RATE = 0.01
RETURN_RATE = 0.02
GUEST_RATE = 0.03
DUPLICATE_RATE = 0.001
N_TEST_ORDERS = 2
SALE_MONTHS = (1, 7)
SALE_SHARE = 0.35  # of lines in a sale month
SALE_FACTOR = 0.7
SPEND_TILT = 0.7  # how strongly the spend level tilts favourite category / brand by price
CHUNK = 1 << 21  # orders per chunk of line generation

# Month weights of customer acquisition (Jan..Dec): Dec peak, July sale, Feb dip.
SEASON = (0.95, 0.8, 1.0, 1.0, 1.0, 0.95, 1.25, 1.0, 0.95, 1.0, 1.1, 1.5)
GROWTH_PER_YEAR = 1.3
# Orders per hour of day (0..23): quiet at night, an evening peak.
HOUR_WEIGHTS = (
    2.0, 1.2, 0.7, 0.4, 0.3, 0.4, 0.8, 1.5, 2.2, 2.8, 3.2, 3.4,
    4.0, 3.6, 3.2, 3.2, 3.3, 3.5, 3.9, 4.5, 5.2, 5.8, 5.6, 3.8,
)  # fmt: skip


# --------------------------------------------------------------------------- shop specs


@dataclass(frozen=True)
class ShopSpec:
    """Everything that differs between the two demo shops."""

    categories: tuple[str, ...]
    category_pop: tuple[float, ...]
    category_price: tuple[int, ...]  # typical list price before tax, yen
    entry_lambda: tuple[float, ...]  # λ multiplier by entry category
    entry_logit_p: tuple[float, ...]  # shift of logit(p) by entry category
    tastes: tuple[str, ...]
    taste_pop: tuple[float, ...]
    brands: tuple[str, ...]
    brand_pop: tuple[float, ...]
    brand_price: tuple[float, ...]
    channels: tuple[str, ...]
    channel_pop: tuple[float, ...]
    r: float  # λ ~ Gamma(shape r, rate alpha), per day
    alpha: float
    a: float  # p ~ Beta(a, b)
    b: float
    lines_pop: tuple[float, ...]  # P(1..4 lines)
    qty_mu: float  # extra units ~ Poisson(qty_mu * exp(z / 2)), at most 4
    pref_category: float
    pref_taste: float
    pref_brand: float
    tax: float
    statuses: tuple[str, str, str, str]  # normal, cancelled, test, return
    female_share: float
    age_mean: float
    age_sd: float


_APPAREL = ShopSpec(
    categories=(
        "トップス",
        "ボトムス",
        "ワンピース",
        "アウター",
        "シューズ",
        "バッグ",
        "アクセサリー",
        "インナー",
    ),
    category_pop=(0.24, 0.17, 0.11, 0.08, 0.09, 0.08, 0.12, 0.11),
    category_price=(2700, 3800, 5400, 10000, 5800, 5000, 1900, 1200),
    entry_lambda=(1.0, 1.05, 0.95, 0.85, 0.9, 1.0, 0.7, 1.45),
    entry_logit_p=(0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.45, -0.6),
    tastes=("ベーシック", "モード", "ナチュラル", "カジュアル", "フェミニン", "ストリート"),
    taste_pop=(0.28, 0.12, 0.18, 0.20, 0.14, 0.08),
    brands=("ソラノイロ", "KOMOREBI", "月白", "ハルカゼ", "MINAMO", "藍日和", "ユキアカリ", "NAGI"),
    brand_pop=(0.20, 0.17, 0.08, 0.15, 0.12, 0.08, 0.10, 0.10),
    brand_price=(1.0, 0.85, 1.7, 0.9, 1.1, 1.3, 1.0, 0.75),
    channels=("自社サイト", "楽天市場", "Amazon"),
    channel_pop=(0.55, 0.30, 0.15),
    r=0.22,
    alpha=32.0,
    a=0.7,
    b=4.5,
    lines_pop=(0.42, 0.33, 0.16, 0.09),
    qty_mu=0.1,
    pref_category=0.6,
    pref_taste=0.5,
    pref_brand=0.6,
    tax=0.10,
    statuses=("発送済み", "キャンセル", "テスト", "返品"),
    female_share=0.78,
    age_mean=36.0,
    age_sd=10.0,
)

_FOOD = ShopSpec(
    categories=("コーヒー豆", "ドリップバッグ", "紅茶", "焼き菓子", "定期便セット", "ギフト"),
    category_pop=(0.30, 0.20, 0.12, 0.13, 0.15, 0.10),
    category_price=(900, 650, 650, 900, 1750, 2050),
    entry_lambda=(1.1, 0.95, 0.9, 0.8, 1.6, 0.6),
    entry_logit_p=(-0.1, 0.0, 0.0, 0.2, -0.8, 0.7),
    tastes=("深煎り", "中煎り", "浅煎り", "デカフェ", "フルーティー"),
    taste_pop=(0.30, 0.28, 0.17, 0.10, 0.15),
    brands=("森の焙煎所", "珈琲ひより", "KISSA MOKU", "茶寮はなれ", "山の菓子工房"),
    brand_pop=(0.30, 0.25, 0.20, 0.13, 0.12),
    brand_price=(1.0, 0.9, 1.15, 1.05, 1.1),
    channels=("自社サイト", "楽天市場", "Yahoo!ショッピング"),
    channel_pop=(0.70, 0.20, 0.10),
    r=0.5,
    alpha=40.0,
    a=0.6,
    b=9.0,
    lines_pop=(0.12, 0.28, 0.32, 0.28),
    qty_mu=0.15,
    pref_category=0.6,
    pref_taste=0.6,
    pref_brand=0.6,
    tax=0.08,
    statuses=("shipped", "cancelled", "test", "returned"),
    female_share=0.55,
    age_mean=45.0,
    age_sd=12.0,
)

_SPECS: dict[str, ShopSpec] = {"demo-apparel": _APPAREL, "demo-food": _FOOD}
# Apparel export files: channel -> (file stem, encoding).
APPAREL_FILES: tuple[tuple[str, str, str], ...] = (
    ("自社サイト", "own", "utf-8"),
    ("楽天市場", "rakuten", "cp932"),
    ("Amazon", "amazon", "utf-8-sig"),
)

# Apparel item nouns, one row per category, one column per brand.
APPAREL_NOUNS: tuple[tuple[str, ...], ...] = (
    (
        "リネンシャツ",
        "コットンブラウス",
        "ロゴTシャツ",
        "リブニット",
        "カーディガン",
        "スウェット",
        "カットソー",
        "ニットベスト",
    ),
    (
        "ワイドパンツ",
        "テーパードパンツ",
        "デニムパンツ",
        "プリーツスカート",
        "タイトスカート",
        "ショートパンツ",
        "カーゴパンツ",
        "フレアスカート",
    ),
    (
        "シャツワンピース",
        "ニットワンピース",
        "キャミワンピース",
        "ジャンパースカート",
        "ロングワンピース",
        "ティアードワンピース",
        "サロペット",
        "ドレス",
    ),
    (
        "トレンチコート",
        "ダウンジャケット",
        "ノーカラーコート",
        "デニムジャケット",
        "マウンテンパーカー",
        "テーラードジャケット",
        "ブルゾン",
        "ウールコート",
    ),
    (
        "スニーカー",
        "ローファー",
        "サンダル",
        "ショートブーツ",
        "パンプス",
        "バレエシューズ",
        "ロングブーツ",
        "スリッポン",
    ),
    (
        "トートバッグ",
        "ショルダーバッグ",
        "リュック",
        "ミニバッグ",
        "かごバッグ",
        "ボストンバッグ",
        "クラッチバッグ",
        "サコッシュ",
    ),
    (
        "ピアス",
        "ネックレス",
        "リング",
        "ヘアクリップ",
        "ブレスレット",
        "ストール",
        "キャップ",
        "ベルト",
    ),
    (
        "タンクトップ",
        "キャミソール",
        "レギンス",
        "ブラトップ",
        "ソックス",
        "タイツ",
        "インナーT",
        "ルームウェア",
    ),
)
# Food item names by category ({t} = the flavour line).
FOOD_TEMPLATES: tuple[str, ...] = (
    "{t}ブレンド 200g",
    "ドリップバッグ {t} 10袋",
    "{t}紅茶 リーフ50g",
    "焼き菓子アソート（{t}に合う）",
    "定期便 {t}セット 月2袋",
    "ギフトボックス {t}詰め合わせ",
)

SURNAMES = (
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
    "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水",
    "山崎", "森", "池田", "橋本", "阿部", "石川", "山下", "中島", "石井", "小川",
    "前田", "岡田", "長谷川", "藤田", "後藤", "近藤", "村上", "遠藤", "青木", "坂本",
)  # fmt: skip
FEMALE_NAMES = (
    "陽菜", "結衣", "葵", "凛", "美咲", "さくら", "花子", "恵子", "由美", "裕子",
    "真由美", "智子", "彩", "愛", "舞", "麻衣", "優子", "直美", "明美", "久美子",
    "千尋", "奈々", "美穂", "香織", "理恵", "沙織", "瞳", "友美", "早紀", "陽子",
)  # fmt: skip
MALE_NAMES = (
    "翔太", "大輔", "健太", "拓也", "直樹", "亮", "達也", "和也", "誠", "浩",
    "隆", "学", "剛", "淳", "聡", "大樹", "翔", "蓮", "悠真", "湊",
    "陽翔", "健一", "一郎", "修", "哲也", "洋平", "雄太", "康介", "智也", "光",
)  # fmt: skip
GENDERS = ("女性", "男性", "回答しない")
# The 47 prefectures with their population (2020 census, 10,000s) as weights.
PREFECTURES: tuple[tuple[str, int], ...] = (
    ("北海道", 522), ("青森県", 124), ("岩手県", 121), ("宮城県", 230), ("秋田県", 96),
    ("山形県", 107), ("福島県", 183), ("茨城県", 287), ("栃木県", 193), ("群馬県", 194),
    ("埼玉県", 734), ("千葉県", 628), ("東京都", 1405), ("神奈川県", 924), ("新潟県", 220),
    ("富山県", 103), ("石川県", 113), ("福井県", 77), ("山梨県", 81), ("長野県", 205),
    ("岐阜県", 198), ("静岡県", 363), ("愛知県", 754), ("三重県", 177), ("滋賀県", 141),
    ("京都府", 258), ("大阪府", 884), ("兵庫県", 547), ("奈良県", 132), ("和歌山県", 92),
    ("鳥取県", 55), ("島根県", 67), ("岡山県", 189), ("広島県", 280), ("山口県", 134),
    ("徳島県", 72), ("香川県", 95), ("愛媛県", 133), ("高知県", 69), ("福岡県", 514),
    ("佐賀県", 81), ("長崎県", 131), ("熊本県", 174), ("大分県", 112), ("宮崎県", 107),
    ("鹿児島県", 159), ("沖縄県", 147),
)  # fmt: skip
EMAIL_DOMAINS = ("example.jp", "example.ne.jp", "example.co.jp", "example.com")


def spec_for(name: str) -> ShopSpec:
    """The parameters of demo shop ``name``; ValueError for an unknown name."""
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown demo shop {name!r}; choose one of {list(SHOPS)}") from None
