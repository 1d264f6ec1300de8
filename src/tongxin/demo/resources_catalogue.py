"""Catalogue text for the resources demo: instrument models, equipment, materials, experts, finance, policies."""

from __future__ import annotations

# name | category | brand/model options (;) | specs | capabilities | samples | keywords | industry | fee (yuan) | unit | value (万元)
INSTRUMENTS = """
液相色谱-质谱联用仪|analytical|赛默飞世尔 Orbitrap Exploris 480;安捷伦 6546 Q-TOF;沃特世 Xevo G2-XS QTof|分辨率 480000 FWHM；质量范围 40–8000 m/z；纳升液相|蛋白质组定性定量分析；翻译后修饰鉴定；代谢组学；小分子药物代谢|蛋白质酶解液、血清、血浆、组织提取物、细胞裂解液|液质联用;蛋白质组;质谱;代谢组|M73|500|hour|650
气相色谱-质谱联用仪|analytical|安捷伦 8890-5977B;岛津 GCMS-QP2020 NX;赛默飞世尔 TSQ 9610|EI/CI 离子源；质量范围 1.5–1090 u|挥发性有机物 VOCs 分析；农药残留；香精香料成分|土壤、水样、食品、空气采样管|气质联用;VOCs;农药残留|M74|300|hour|180
场发射扫描电子显微镜|microscopy|日立 SU8020;蔡司 Sigma 300;赛默飞世尔 Apreo 2|分辨率 1.0 nm@15 kV；配能谱 EDS 与背散射探头|微观形貌观察；元素面分布；断口分析|金属、陶瓷、粉末、高分子、生物样品|扫描电镜;SEM;能谱;形貌|M74|400|hour|420
透射电子显微镜|microscopy|日本电子 JEM-2100F;赛默飞世尔 Talos F200X|点分辨率 0.19 nm；加速电压 200 kV；STEM-HAADF|高分辨成像；选区电子衍射；纳米材料结构表征|纳米颗粒、薄膜截面、催化剂|透射电镜;TEM;高分辨|M74|800|hour|1200
核磁共振波谱仪|analytical|布鲁克 AVANCE NEO 600 MHz;布鲁克 AVANCE III HD 400 MHz;日本电子 JNM-ECZ500R|600 MHz；超低温探头；一维二维谱|有机化合物结构解析；聚合物表征；定量核磁|有机小分子、天然产物、聚合物溶液|核磁共振;NMR;结构解析|M73|350|hour|800
X射线衍射仪|analytical|布鲁克 D8 Advance;理学 SmartLab 9kW;帕纳科 Empyrean|Cu 靶；2θ 范围 −10°–160°；高温附件 1200℃|物相定性定量分析；晶粒尺寸；残余应力；薄膜掠入射|粉末、块体、薄膜|X射线衍射;XRD;物相分析|M74|200|sample|260
高温拉伸试验机 1200℃|testing|英斯特朗 5982;岛津 AG-X plus 100kN;三思纵横 UTM5105|最高温度 1200℃；最大载荷 100 kN；引伸计精度 0.5 级|高温拉伸；高温蠕变与持久强度；高温压缩|高温合金、钛合金、耐热钢试样|高温拉伸;1200℃;力学性能;蠕变|M74|600|hour|300
电子万能试验机|testing|英斯特朗 5985;三思纵横 UTM5305;岛津 AGS-X|最大载荷 300 kN；速度 0.001–500 mm/min|拉伸、压缩、弯曲、剪切试验|金属、复合材料、塑料、橡胶|万能试验机;拉伸;力学性能|M74|150|hour|90
电感耦合等离子体质谱仪|analytical|安捷伦 7900;珀金埃尔默 NexION 2000;赛默飞世尔 iCAP RQ|检出限 ppt 级；质量范围 2–260 amu|痕量与超痕量元素分析；同位素比值；形态分析|水样、土壤消解液、食品、生物组织|ICP-MS;痕量元素;重金属|M74|150|sample|280
激光共聚焦显微镜|microscopy|蔡司 LSM 980;徕卡 STELLARIS 8;尼康 AX R|405/488/561/640 nm 激光；超分辨 Airyscan|活细胞成像；荧光共定位；三维重构|细胞、组织切片、模式生物|共聚焦;荧光成像;活细胞|M73|300|hour|550
流式细胞仪|medical|BD FACSCanto II;贝克曼 CytoFLEX S;BD FACSAria III|3 激光 10 色；分选纯度 >98%|细胞表型分析；细胞周期；细胞分选|外周血、细胞悬液、骨髓|流式细胞;细胞分选;免疫表型|M73|250|hour|350
X射线光电子能谱仪|analytical|赛默飞世尔 ESCALAB Xi+;岛津 Kratos AXIS Supra|单色 Al Kα；能量分辨 0.45 eV；深度剖析|表面元素组成与化学态；深度剖析|薄膜、催化剂、电池材料|XPS;表面分析;化学态|M74|600|sample|700
工业CT|testing|蔡司 METROTOM 1500;依科视朗 FF35 CT;日联科技 CX7000|225 kV 微焦点；体素 4 µm|内部缺陷无损检测；孔隙率；尺寸测量|铸件、电池、复合材料、电子器件|工业CT;无损检测;缺陷|M74|800|hour|900
三坐标测量机|testing|海克斯康 GLOBAL S;蔡司 CONTURA;温泽 LH 87|测量精度 1.5+L/333 µm；行程 1000×2000×800 mm|几何量检测；形位公差；逆向建模|汽车零部件、模具、航空结构件|三坐标;几何量;形位公差|M74|200|hour|260
电磁兼容测试系统|electronic|罗德与施瓦茨 ESW;是德科技 N9038B|3 m 法电波暗室；9 kHz–40 GHz|辐射发射；传导发射；静电与浪涌抗扰度|电子电器产品、车载电子|EMC;电磁兼容;抗扰度|M74|1200|hour|1500
矢量网络分析仪|electronic|是德科技 PNA-X N5247B;罗德与施瓦茨 ZNA67|10 MHz–67 GHz；4 端口|S 参数测量；天线与射频器件表征|射频器件、天线、滤波器|矢量网络分析;射频;S参数|M73|300|hour|320
激光粒度分析仪|analytical|马尔文 Mastersizer 3000;新帕泰克 HELOS|量程 0.01–3500 µm；湿法干法|粒径分布；颗粒形貌统计|粉体、乳液、浆料|粒度;粒径分布;粉体|M74|100|sample|60
比表面积及孔径分析仪|analytical|麦克默瑞提克 ASAP 2460;康塔 Autosorb iQ|比表面 0.0005 m²/g 起；微孔介孔分析|BET 比表面积；孔径分布；化学吸附|催化剂、分子筛、活性炭、MOF|比表面积;BET;孔径|M74|200|sample|90
同步热分析仪|analytical|耐驰 STA 449 F3;梅特勒托利多 TGA/DSC 3+|室温–1600℃；联用红外|热重；差示扫描量热；热稳定性|高分子、无机材料、药物|热分析;TG-DSC;热稳定性|M74|150|sample|80
金属3D打印机|processing|铂力特 BLT-S310;EOS M290;华曙高科 FS273M|选区激光熔化；成形尺寸 250×250×400 mm|金属增材制造；复杂结构件试制|钛合金、高温合金、不锈钢粉末|3D打印;增材制造;SLM|M73|900|hour|600
电子束光刻系统|processing|雷泰 EBPG 5200;日本电子 JBX-6300FS|最小线宽 8 nm；100 kV|微纳结构加工；掩模制作|硅片、石英片|电子束光刻;微纳加工|M73|1500|hour|2500
高性能计算集群|computing|曙光 TC6600;浪潮 NF5488|峰值 1 PFlops；GPU 节点 A800|分子动力学；第一性原理计算；计算流体力学|计算任务|高性能计算;HPC;分子模拟|I65|50|hour|1800
磁共振成像系统（科研型 3.0T）|medical|西门子 MAGNETOM Prisma;GE SIGNA Premier;联影 uMR 890|3.0 T；64 通道头线圈|脑功能成像；弥散张量成像；波谱成像|志愿者、动物模型|磁共振;fMRI;脑成像|Q84|1200|hour|2200
高通量测序仪|medical|Illumina NovaSeq 6000;华大智造 DNBSEQ-T7|单次通量 6 Tb；PE150|全基因组测序；转录组；宏基因组|DNA、RNA 文库|高通量测序;基因组;转录组|M73|800|sample|900
原子力显微镜|microscopy|布鲁克 Dimension Icon;牛津仪器 Cypher ES|Z 向噪声 <30 pm；纳米力学模式|表面形貌；纳米力学；导电性测量|薄膜、二维材料、生物大分子|原子力显微镜;AFM;表面形貌|M74|300|hour|380
傅里叶变换红外光谱仪|analytical|赛默飞世尔 Nicolet iS50;布鲁克 INVENIO R|光谱范围 7800–350 cm⁻¹；ATR 与显微附件|官能团鉴定；高分子成分分析|高分子、涂层、药物|红外光谱;FTIR;官能团|M74|80|sample|70
大气颗粒物在线源解析质谱仪|earth|广州禾信 SPAMS 0515;阿罗德 ACSM|单颗粒粒径 0.2–2 µm；时间分辨 1 min|PM2.5 来源解析；大气化学成分在线监测|环境空气|大气颗粒物;PM2.5;源解析|N77|500|hour|500
"""

BUILDINGS = ("分析测试中心", "材料科学楼", "生命科学楼", "公共实验平台", "工程训练中心", "先进制造研究院", "检测中心", "大型仪器共享平台")

# type | brand/model | spec | price (万元) | industry
EQUIPMENT = """
数控加工中心|DMG MORI DMU 65 monoBLOCK|五轴联动；工作台 650×650 mm|160|C34
卧式注塑机|海天 MA3800|锁模力 380 吨；螺杆直径 70 mm|45|C34
光纤激光切割机|大族激光 G3015HF|功率 6 kW；幅面 3000×1500 mm|60|C34
工业机器人|库卡 KR 210 R2700|负载 210 kg；臂展 2700 mm|28|C34
螺杆空压机|阿特拉斯 GA75|排气量 13 m³/min；0.75 MPa|12|C34
干式变压器|顺特 SCB13-1250|1250 kVA；10/0.4 kV|18|C38
电动叉车|合力 CPD30|额定载荷 3 吨；锂电池|6|C34
不锈钢发酵罐|东富龙 5000L|容积 5 m³；在位清洗|55|C35
真空冷冻干燥机|东富龙 LYO-10|冻干面积 10 m²|120|C35
光伏组件层压机|博硕 BSL3622|层压面积 3.6×2.2 m|35|C38
搪瓷反应釜|淄博 K5000L|5000 L；夹套加热|15|C35
中频感应熔炼炉|恒进 KGPS-1T|1 吨；功率 750 kW|22|C33
龙门铣床|北一机床 XK2725|工作台 2500×6000 mm|95|C34
全自动贴片机|松下 NPM-D3|贴装速度 84000 CPH|70|C39
"""

# district code | name suffix
MATERIAL_SITES = ("130200", "130400", "120116", "120110", "110115", "110112", "131000", "130900", "130500", "120118")

# field | title | mode hints
EXPERT_FIELDS = """
心血管内科|主任医师|onsite;remote
儿科|主任医师|onsite;remote
骨科|副主任医师|onsite
肿瘤放疗科|主任医师|remote
急诊医学科|副主任医师|onsite
妇产科|主任医师|onsite;remote
神经内科|副主任医师|remote;part_time
医学影像科|主任医师|remote
麻醉科|副主任医师|onsite
重症医学科|主任医师|onsite;remote
"""
ENGINEER_FIELDS = """
轨道交通信号系统|正高级工程师|part_time;remote
智能制造与工业互联网|正高级工程师|part_time;onsite
新能源汽车电池管理|高级工程师|part_time
氢能与燃料电池|教授|remote;part_time
合成生物学与生物制造|研究员|part_time
集成电路封装测试|高级工程师|onsite
"""

BANKS = ("北京银行", "天津银行", "河北银行", "渤海银行", "中关村科技融资担保有限公司", "天津海泰科技融资担保有限公司", "河北省科技投资中心",
         "京津冀协同发展产业投资基金", "天使投资联盟（北京）", "天津滨海天使投资基金")

# title | issuer | benefit type | benefit | amount | apply mode | rules | region
POLICIES = """
天津市科技型中小企业创新券|天津市科学技术局|voucher|企业购买检验检测、大型仪器共享等科技服务，按服务费用的 50% 给予创新券支持|20|auto|region in 120000; org_type in enterprise; employees <= 500; revenue <= 20000|120000
京津冀创新券互认互通|京津冀三地科技部门|voucher|三地认定的服务机构可跨区域接受创新券，企业使用异地仪器同样抵扣|30|auto|region in 110000,120000,130000; org_type in enterprise; age_years <= 10|110000
北京市高新技术企业认定奖励|北京市科学技术委员会|subsidy|首次认定的高新技术企业给予一次性奖励|30|auto|region in 110000; certifications has 高新技术企业|110000
河北省科技型中小企业研发费用后补助|河北省科学技术厅|subsidy|按上年度研发费用增量的 10% 给予后补助，最高 50 万元|50|apply|region in 130000; org_type in enterprise; certifications has 科技型中小企业|130000
雄安新区高端人才引进支持|雄安新区管理委员会|talent|引进的高层次人才给予安家补贴与科研启动经费|100|apply|region in 133100|133100
滨海新区首台（套）重大技术装备保险补偿|天津市滨海新区人民政府|subsidy|首台套装备投保的保费给予 80% 补贴|200|apply|region in 120116; industry in C34,C35,C37,C38,C39|120116
海淀区初创企业房租补贴|北京市海淀区人民政府|subsidy|成立三年内的初创企业按实际租金 30% 给予补贴|50|auto|region in 110108; age_years <= 3; employees <= 100|110108
天津市专精特新中小企业奖励|天津市工业和信息化局|subsidy|新认定的市级专精特新中小企业给予一次性奖励|20|auto|region in 120000; certifications has 专精特新中小企业|120000
河北省知识产权质押融资贴息|河北省市场监督管理局|interest|知识产权质押贷款按实际利息的 50% 给予贴息|30|apply|region in 130000; org_type in enterprise; revenue <= 50000|130000
北京市研发费用加计扣除辅导|国家税务总局北京市税务局|tax|科技型中小企业研发费用按 100% 加计扣除|0|auto|region in 110000; certifications has 科技型中小企业|110000
天津市高校院所大型仪器开放共享后补助|天津市科学技术局|subsidy|对外服务机时达标的大型仪器所属单位按服务收入给予后补助|100|apply|region in 120000; org_type in university,research_institute|120000
唐山市再生资源回收利用项目补助|唐山市人民政府|subsidy|废钢铁等再生资源规范化加工配送项目按设备投资 20% 补助|300|apply|region in 130200; industry in C42,N77,C31|130200
"""
