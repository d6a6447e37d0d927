"""Reference vocabularies the synthetic city draws from: regions (GB/T 2260), names, industries
(GB/T 4754-2017), schools, licence types and departments.

Weights are relative; they need not sum to one.
"""

from __future__ import annotations

from dataclasses import dataclass

# The day the synthetic city is "as of": every date generated lies on or before it.
AS_OF = "2026-11-22"


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # GB/T 2260 county-level code
    name: str  # county/district name
    city_code: str  # 6-digit city code used for hukou (municipalities: 310000, 110000 …)
    city_name: str
    province_name: str
    people_weight: float  # share of the registered population born here
    enterprise_weight: float  # share of the enterprises registered here (0: none)


def _city(prefix: str, city_code: str, city_name: str, province: str, districts: str) -> list[Region]:
    regions = []
    for entry in districts.split():
        code, name, people, enterprises = entry.split(":")
        regions.append(
            Region(prefix + code, name, city_code, city_name, province, float(people), float(enterprises))
        )
    return regions


REGIONS: tuple[Region, ...] = tuple(
    _city(
        "4403",
        "440300",
        "深圳市",
        "广东省",
        "03:罗湖区:3.0:3.0 04:福田区:4.5:6.0 05:南山区:4.5:7.0 06:宝安区:7.0:8.0 07:龙岗区:6.5:6.5 "
        "08:盐田区:0.6:0.6 09:龙华区:4.5:4.5 10:坪山区:1.2:1.0 11:光明区:1.5:1.2",
    )
    + _city(
        "3101",
        "310000",
        "上海市",
        "上海市",
        "01:黄浦区:2.0:3.0 04:徐汇区:3.0:3.0 05:长宁区:2.0:2.2 06:静安区:2.5:3.2 07:普陀区:3.0:2.0 "
        "09:虹口区:2.0:1.6 10:杨浦区:3.0:2.0 12:闵行区:4.5:4.0 13:宝山区:4.0:2.6 14:嘉定区:3.0:2.8 "
        "15:浦东新区:9.0:9.0 16:金山区:1.5:1.0 17:松江区:3.0:2.8 18:青浦区:2.0:2.0 20:奉贤区:2.0:1.8 "
        "51:崇明区:1.2:0.8",
    )
    + _city(
        "4401",
        "440100",
        "广州市",
        "广东省",
        "03:荔湾区:1.5:1.2 04:越秀区:2.0:2.0 05:海珠区:2.2:2.0 06:天河区:3.0:4.0 11:白云区:3.0:2.5 "
        "12:黄埔区:1.6:2.2 13:番禺区:2.5:2.2 14:花都区:1.5:1.2 15:南沙区:1.0:1.2 17:从化区:0.8:0.5 "
        "18:增城区:1.4:1.0",
    )
    + _city("4406", "440600", "佛山市", "广东省", "04:禅城区:0.8:0.8 05:南海区:1.2:1.2 06:顺德区:1.2:1.2")
    + _city("4419", "441900", "东莞市", "广东省", "00:东莞市:1.8:1.5")
    + _city("4420", "442000", "中山市", "广东省", "00:中山市:0.8:0.6")
    + _city("4404", "440400", "珠海市", "广东省", "02:香洲区:0.6:0.5")
    + _city("4413", "441300", "惠州市", "广东省", "02:惠城区:0.8:0.5")
    + _city("4405", "440500", "汕头市", "广东省", "11:金平区:0.6:0.2 24:潮阳区:0.8:0")
    + _city("4414", "441400", "梅州市", "广东省", "02:梅江区:0.5:0")
    + _city("4452", "445200", "揭阳市", "广东省", "02:榕城区:0.6:0")
    + _city("4408", "440800", "湛江市", "广东省", "03:霞山区:0.6:0")
    + _city("1101", "110000", "北京市", "北京市", "01:东城区:0.3:0 05:朝阳区:0.5:0 08:海淀区:0.5:0")
    + _city("3201", "320100", "南京市", "江苏省", "02:玄武区:0.4:0")
    + _city("3301", "330100", "杭州市", "浙江省", "06:西湖区:0.4:0")
    + _city("3401", "340100", "合肥市", "安徽省", "02:瑶海区:0.8:0")
    + _city("3501", "350100", "福州市", "福建省", "02:鼓楼区:0.5:0")
    + _city("3601", "360100", "南昌市", "江西省", "02:东湖区:0.8:0")
    + _city("3702", "370200", "青岛市", "山东省", "02:市南区:0.4:0")
    + _city("4101", "410100", "郑州市", "河南省", "02:中原区:1.2:0")
    + _city("4201", "420100", "武汉市", "湖北省", "02:江岸区:0.9:0")
    + _city("4301", "430100", "长沙市", "湖南省", "02:芙蓉区:1.2:0")
    + _city("4501", "450100", "南宁市", "广西壮族自治区", "02:兴宁区:0.9:0")
    + _city("5101", "510100", "成都市", "四川省", "04:锦江区:1.0:0")
    + _city("5201", "520100", "贵阳市", "贵州省", "02:南明区:0.5:0")
    + _city("5001", "500000", "重庆市", "重庆市", "01:万州区:0.8:0")
    + _city("6101", "610100", "西安市", "陕西省", "02:新城区:0.4:0")
)

# Cities whose rules the demo catalogue models; people are spread so that both pass and fail.
HOME_CITIES = ("440300", "310000", "440100")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Rough frequency: the first surnames are far more common (王, 李, 张 about 7% each).
SURNAME_WEIGHTS = tuple(max(0.15, 7.5 * 0.93**rank) for rank in range(len(SURNAMES)))
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方")

GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文博天子轩晨睿泽皓然宏毅峰"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英慧巧美婷雪琳晶颖倩玲红梅燕丹萍璐欣怡佳悦可馨雨涵诗梓萱思彤嘉琪雅洁瑶"
GIVEN_SHARED = "文明晓子思雨一嘉家佳安宇晨梓欣俊新春海永玉德云"

# Population pyramid by 5-year band (share of the living population, 2020-census-like), 0–4 … 100+.
AGE_BAND_WEIGHTS = (
    5.4, 6.4, 6.1, 5.3, 5.3, 6.6, 8.8, 7.0, 6.6, 8.0, 8.7, 7.2, 5.2, 5.4, 3.5, 2.3, 1.5, 0.8, 0.3, 0.08, 0.04,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Industry:
    code: str  # GB/T 4754-2017 class
    name: str
    word: str  # what appears in an enterprise name
    weight: float  # share among companies (企业)
    individual_weight: float  # share among individual businesses (个体工商户)


INDUSTRIES: tuple[Industry, ...] = (
    Industry("0111", "稻谷种植", "农业", 0.3, 0.4),
    Industry("0141", "蔬菜种植", "农产品", 0.3, 0.6),
    Industry("1441", "液体乳制造", "乳业", 0.15, 0),
    Industry("1442", "乳粉制造", "乳品", 0.08, 0),
    Industry("2614", "有机化学原料制造", "化工", 0.3, 0),
    Industry("2669", "其他专用化学产品制造", "化学", 0.3, 0),
    Industry("2671", "炸药及火工产品制造", "爆破器材", 0.03, 0),
    Industry("3120", "炼钢", "钢铁", 0.1, 0),
    Industry("3130", "钢压延加工", "钢材", 0.2, 0),
    Industry("3612", "新能源车整车制造", "新能源汽车", 0.1, 0),
    Industry("3670", "汽车零部件及配件制造", "汽车零部件", 0.6, 0),
    Industry("3973", "集成电路制造", "集成电路", 0.2, 0),
    Industry("3976", "光电子器件制造", "光电", 0.4, 0),
    Industry("4710", "住宅房屋建筑", "建筑工程", 2.0, 0),
    Industry("4790", "其他房屋建筑业", "建设", 1.0, 0),
    Industry("5151", "西药批发", "医药", 0.5, 0),
    Industry("5162", "石油及制品批发", "石化", 0.3, 0),
    Industry("5169", "其他化工产品批发", "化工贸易", 0.6, 0),
    Industry("5179", "其他机械设备及电子产品批发", "贸易", 6.0, 2.0),
    Industry("5211", "百货零售", "百货", 3.0, 8.0),
    Industry("5212", "超级市场零售", "超市", 1.0, 6.0),
    Industry("5223", "果品、蔬菜零售", "果蔬", 0.5, 8.0),
    Industry("5251", "西药零售", "大药房", 1.0, 2.0),
    Industry("5431", "普通货物道路运输", "物流", 3.0, 6.0),
    Industry("5413", "出租车客运", "出租汽车", 0.2, 1.5),
    Industry("6110", "旅游饭店", "酒店", 0.8, 0.5),
    Industry("6121", "一般旅馆", "旅馆", 0.5, 2.5),
    Industry("6210", "正餐服务", "餐饮", 5.0, 18.0),
    Industry("6220", "快餐服务", "快餐", 1.5, 10.0),
    Industry("6232", "咖啡馆服务", "咖啡", 0.6, 2.0),
    Industry("6513", "应用软件开发", "信息科技", 12.0, 0.5),
    Industry("6520", "集成电路设计", "微电子", 0.8, 0),
    Industry("7212", "投资与资产管理", "投资管理", 6.0, 0),
    Industry("7231", "律师及相关法律服务", "法律", 0, 0),
    Industry("7241", "会计、审计及税务服务", "财务咨询", 1.5, 0.5),
    Industry("7259", "其他广告服务", "广告", 4.0, 2.0),
    Industry("7262", "职业中介服务", "人力资源", 1.0, 0.2),
    Industry("7263", "劳务派遣服务", "劳务派遣", 0.8, 0),
    Industry("7483", "工程勘察活动", "勘察", 0.4, 0),
    Industry("7484", "工程设计活动", "工程设计", 1.0, 0),
    Industry("7519", "其他技术推广服务", "科技", 14.0, 1.0),
    Industry("8040", "理发及美容服务", "美容美发", 0.6, 8.0),
    Industry("8051", "洗浴服务", "沐足", 0.2, 1.5),
    Industry("8391", "职业技能培训", "培训", 1.0, 0.5),
    Industry("8411", "综合医院", "医院", 0.1, 0),
    Industry("9521", "专业性团体", "学会", 0, 0),
    Industry("9522", "行业性团体", "行业协会", 0, 0),
    Industry("9530", "基金会", "基金会", 0, 0),
)
INDUSTRY_INDEX = {industry.code: position for position, industry in enumerate(INDUSTRIES)}

# Characters for enterprise trade names (字号): two are drawn.
TRADE_NAME_CHARS = (
    "恒达华信宏盛鑫源泰和兴隆嘉联创新瑞丰永佳志远天成博润盈通金汇中科明德腾飞海纳百川东方卓越优品"
    "安康顺宝利祥云星宇万象锦绣辉煌智能致远晟尚雅乐禾美合众新航诚信凯旋启航环球九州聚力蓝海"
)

SCHOOLS_BACHELOR = (
    "北京大学", "清华大学", "复旦大学", "上海交通大学", "同济大学", "浙江大学", "中山大学", "华南理工大学",
    "深圳大学", "南方科技大学", "暨南大学", "华南师范大学", "广东工业大学", "武汉大学", "华中科技大学",
    "四川大学", "湖南大学", "郑州大学", "华东师范大学", "上海大学", "广州大学", "南京大学", "厦门大学",
)  # fmt: skip
SCHOOLS_COLLEGE = (
    "深圳职业技术学院", "广州番禺职业技术学院", "上海电子信息职业技术学院", "广东轻工职业技术学院",
    "深圳信息职业技术学院", "上海城建职业学院", "广东机电职业技术学院", "长沙民政职业技术学院",
)  # fmt: skip
MAJORS = (
    "计算机科学与技术", "软件工程", "电子信息工程", "集成电路设计与集成系统", "机械设计制造及其自动化",
    "土木工程", "临床医学", "药学", "会计学", "金融学", "法学", "汉语言文学", "英语", "工商管理",
    "市场营销", "数学与应用数学", "物理学", "化学", "生物科学", "建筑学", "新闻学", "人力资源管理",
)  # fmt: skip

DEGREES = ("大专", "本科", "硕士", "博士")


@dataclass(frozen=True, slots=True)
class LicenceType:
    code: str
    name: str
    issuer_suffix: str  # joined to the holder's city name
    number_prefix: str
    validity_years: int
    industries: tuple[str, ...]  # industry classes whose holders need it
    entity_types: tuple[str, ...]  # entity types whose holders need it (registration certificates)
    share: float  # share of eligible holders that hold it


ENTERPRISE_LICENCE_TYPES: tuple[LicenceType, ...] = (
    LicenceType("GGCSWS", "公共场所卫生许可证", "卫生健康委员会", "卫公证字", 4,
                ("6110", "6121", "8040", "8051"), (), 0.85),
    LicenceType("JZYQYZZ", "建筑业企业资质证书", "住房和建设局", "D2", 5, ("4710", "4790"), (), 0.8),
    LicenceType("GCKCZZ", "工程勘察资质证书", "住房和建设局", "B2", 5, ("7483",), (), 0.9),
    LicenceType("YPJYXK", "药品经营许可证", "市场监督管理局", "粤AA", 5, ("5151", "5251"), (), 0.95),
    LicenceType("RLZYFW", "人力资源服务许可证", "人力资源和社会保障局", "人服证字", 5, ("7262", "7263"), (), 0.9),
    LicenceType("SPJYXK", "食品经营许可证", "市场监督管理局", "JY", 5,
                ("5211", "5212", "5223", "6210", "6220", "6232"), (), 0.9),
    LicenceType("WHPJYXK", "危险化学品经营许可证", "应急管理局", "危化经字", 3, ("5162", "5169"), (), 0.8),
    LicenceType("AQSCXK", "安全生产许可证", "应急管理局", "安许证字", 3, ("2614", "2671"), (), 0.9),
    LicenceType("XDCPSC", "消毒产品生产企业卫生许可证", "卫生健康委员会", "卫消证字", 4, ("2669",), (), 0.6),
    LicenceType("DLYSJY", "道路运输经营许可证", "交通运输局", "交运管许可字", 6, ("5431", "5413"), (), 0.7),
    LicenceType("SHTTDJ", "社会团体法人登记证书", "民政局", "社证字", 5, (), ("社会团体",), 1.0),
    LicenceType("MFQYDJ", "民办非企业单位登记证书", "民政局", "民证字", 5, (), ("民办非企业单位",), 1.0),
    LicenceType("JJHDJ", "基金会法人登记证书", "民政局", "基证字", 5, (), ("基金会",), 1.0),
    LicenceType("LSSWSZY", "律师事务所执业许可证", "司法局", "律所证字", 5, (), ("律师事务所",), 1.0),
    LicenceType("KJSSWS", "会计师事务所执业证书", "财政局", "会证字", 5, (), ("会计师事务所",), 1.0),
)  # fmt: skip

PERSON_LICENCE_TYPES: tuple[LicenceType, ...] = (
    LicenceType("JSZGZ", "教师资格证书", "教育局", "教资", 5, (), (), 0.03),
    LicenceType("ZYYSZC", "执业药师注册证", "药品监督管理局", "执药", 5, (), (), 0.004),
    LicenceType("DYZ", "导游证", "文化广电旅游局", "导游", 3, (), (), 0.003),
)


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    org_body: str  # 8-character organisation-code body; the check character is computed


DEPARTMENTS: tuple[Department, ...] = (
    Department("public_security", "市公安局", "00001001"),
    Department("traffic_police", "市公安局交通警察支队", "00001002"),
    Department("education", "市教育局", "00001003"),
    Department("market_regulation", "市市场监督管理局", "00001004"),
    Department("human_resources", "市人力资源和社会保障局", "00001005"),
    Department("tax", "国家税务总局市税务局", "00001006"),
    Department("development_reform", "市发展和改革委员会", "00001007"),
    Department("court", "市中级人民法院", "00001008"),
    Department("data_bureau", "市政务服务和数据管理局", "00001009"),
    Department("transport", "市交通运输局", "00001010"),
    # Departments that implement items and policies without providing a resource of their own here.
    Department("civil_affairs", "市民政局", "00001011"),
    Department("health", "市卫生健康委员会", "00001012"),
    Department("housing_construction", "市住房和城乡建设局", "00001013"),
    Department("medical_products", "市药品监督管理局", "00001014"),
)
DEPARTMENT_REGION = "440300"
