"""Real addresses across China, in Chinese and in Latin letters, land where they are: each with the place it
must be understood as and a band of distance from the service centre (Shanghai, 31.2304 N 121.4737 E).
No network: the Chinese table (cpca) and the GeoNames cities ship with their packages."""

from __future__ import annotations

import pytest

from dispatch.geo.distance import distance_from_centre_km, is_remote
from dispatch.geo.geocoder import geocode
from dispatch.geo.places import has_cjk

# address, what it is understood as (place), precision, distance band in km from Shanghai's centre
ADDRESSES = [
    # Chinese script: district precision from cpca's table
    ("杭州市西湖区文三路90号", "浙江省 杭州市 西湖区", "district", (150, 185)),
    ("南京市鼓楼区中山路1号", "江苏省 南京市 鼓楼区", "district", (250, 300)),
    ("上海市浦东新区世纪大道88号", "上海市 浦东新区", "district", (0, 20)),
    ("上海市闵行区莘庄镇", "上海市 闵行区", "district", (5, 30)),
    ("上海市南京西路1号", "上海市", "city", (0, 5)),  # 南京西路 is a street, not Nanjing
    ("北京市海淀区中关村大街27号", "北京市 海淀区", "district", (1020, 1120)),
    ("北京市朝阳区建国路88号", "北京市 朝阳区", "district", (1020, 1110)),
    ("天津市和平区南京路", "天津市 和平区", "district", (910, 1010)),
    ("重庆市渝中区解放碑步行街", "重庆市 渝中区", "district", (1390, 1490)),
    ("广州市天河区天河路385号", "广东省 广州市 天河区", "district", (1150, 1260)),
    ("深圳市南山区深南大道10000号", "广东省 深圳市 南山区", "district", (1160, 1270)),
    ("成都市武侯区人民南路四段", "四川省 成都市 武侯区", "district", (1610, 1720)),
    ("西安市雁塔区小寨东路", "陕西省 西安市 雁塔区", "district", (1170, 1270)),
    ("武汉市武昌区中南路", "湖北省 武汉市 武昌区", "district", (640, 740)),
    ("苏州市姑苏区观前街", "江苏省 苏州市 姑苏区", "district", (65, 100)),
    ("安徽省合肥市蜀山区长江西路", "安徽省 合肥市 蜀山区", "district", (370, 440)),
    ("山东省青岛市市南区香港中路", "山东省 青岛市 市南区", "district", (510, 580)),
    ("福建省厦门市思明区湖滨南路", "福建省 厦门市 思明区", "district", (780, 860)),
    ("云南省昆明市五华区东风西路", "云南省 昆明市 五华区", "district", (1910, 2010)),
    ("黑龙江省哈尔滨市南岗区中山路", "黑龙江省 哈尔滨市 南岗区", "district", (1620, 1720)),
    ("乌鲁木齐市天山区解放北路", "新疆维吾尔自治区 乌鲁木齐市 天山区", "district", (3220, 3320)),
    ("拉萨市城关区北京中路", "西藏自治区 拉萨市 城关区", "district", (2860, 2960)),
    ("海口市龙华区滨海大道", "海南省 海口市 龙华区", "district", (1620, 1720)),
    ("浙江省宁波市鄞州区天童南路", "浙江省 宁波市 鄞州区", "district", (130, 180)),
    ("广西南宁市青秀区民族大道", "广西壮族自治区 南宁市 青秀区", "district", (1540, 1640)),
    ("内蒙古呼和浩特市新城区中山东路", "内蒙古自治区 呼和浩特市 新城区", "district", (1330, 1440)),
    ("吉林省长春市朝阳区人民大街", "吉林省 长春市 朝阳区", "district", (1390, 1490)),
    ("江苏省昆山市前进中路", "江苏省 苏州市 昆山市", "district", (35, 65)),
    # Latin letters: GeoNames, the most populous exact name, city precision
    ("Hangzhou Xihu District", "Hangzhou, China", "city", (150, 185)),
    ("Zhongshan Road, Gulou District, Nanjing", "Nanjing, China", "city", (250, 300)),
    ("88 Century Avenue, Pudong, Shanghai", "Pudong, China", "city", (0, 20)),
    ("Beijing Chaoyang District Jianguo Road 88", "Beijing, China", "city", (1020, 1110)),
    ("Tianjin Heping District", "Tianjin, China", "city", (910, 1010)),
    ("Chongqing Yuzhong District", "Chongqing, China", "city", (1390, 1490)),
    ("Tianhe District, Guangzhou", "Guangzhou, China", "city", (1150, 1260)),
    ("Nanshan District, Shenzhen, Guangdong", "Shenzhen, China", "city", (1160, 1270)),
    ("Wuhou District, Chengdu", "Chengdu, China", "city", (1610, 1720)),
    ("Yanta District, Xi'an, Shaanxi", "Xi'an, China", "city", (1170, 1270)),
    ("Wuchang District, Wuhan, Hubei", "Wuhan, China", "city", (640, 740)),
    ("Gusu District, Suzhou, Jiangsu", "Suzhou, China", "city", (65, 100)),
    ("Siming District, Xiamen", "Xiamen, China", "city", (780, 860)),
    ("Qingdao Shinan District", "Qingdao, China", "city", (510, 580)),
    ("Hefei, Anhui", "Hefei, China", "city", (370, 440)),
    ("Kunming, Yunnan", "Kunming, China", "city", (1910, 2010)),
    ("Harbin Nangang District", "Harbin, China", "city", (1620, 1720)),
    ("Urumqi Tianshan District", "Urumqi, China", "city", (3220, 3320)),
    ("Lhasa, Tibet", "Lhasa, China", "city", (2860, 2960)),
    ("Haikou, Hainan", "Haikou, China", "city", (1620, 1720)),
    # Other countries, where GEOCODER_COUNTRY lets them in
    ("1 Raffles Place, Singapore", "Singapore, Singapore", "city", (3750, 3850)),
    ("Jalan Ampang, Kuala Lumpur, Malaysia", "Kuala Lumpur, Malaysia", "city", (3690, 3790)),
    ("新加坡乌节路", "Singapore, Singapore", "city", (3750, 3850)),
]


@pytest.fixture
def countries(app):
    saved = app.config["GEOCODER_COUNTRY"]
    app.config["GEOCODER_COUNTRY"] = "CN,SG,MY"
    yield
    app.config["GEOCODER_COUNTRY"] = saved


@pytest.mark.parametrize("address, place, precision, band", ADDRESSES, ids=[a[0] for a in ADDRESSES])
def test_address_resolves_within_its_band(app, countries, address, place, precision, band):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        position = geocode(address)
        km = distance_from_centre_km(position.latitude, position.longitude)
    assert (position.place, position.precision) == (place, precision)
    low, high = band
    assert low <= km <= high, (address, km)
    assert is_remote(km) is (km > app.config["REMOTE_RADIUS_KM"])


def test_the_table_of_addresses_spans_the_country_in_both_scripts():
    chinese = [a for a in ADDRESSES if has_cjk(a[0])]
    assert len(ADDRESSES) >= 40 and len(chinese) >= 20 and len(ADDRESSES) - len(chinese) >= 20


@pytest.mark.parametrize("address, latin", [
    ("杭州市西湖区文三路90号", "Zhejiang Hangzhou Xihu District"),
    ("上海市浦东新区世纪大道88号", "Shanghai Pudong New Area"),
    ("上海市闵行区莘庄镇", "Shanghai Minhang District"),
    ("北京市朝阳区建国路88号", "Beijing Chaoyang District"),
    ("乌鲁木齐市天山区解放北路", "Xinjiang Urumqi Tianshan District"),
    ("西安市雁塔区小寨东路", "Shaanxi Xi'an Yanta District"),
])
def test_chinese_places_have_their_latin_names_for_english_pages(app, address, latin):
    with app.test_request_context():
        assert geocode(address).place_latin == latin
