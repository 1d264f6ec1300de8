"""Settings in one registry: name, default, help. Feeds the CLI help, the docs and a test."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help_zh: str
    help_en: str


SETTINGS: tuple[Setting, ...] = (
    Setting("TONGXIN_DATA_DIR", "data", "数据目录（SQLite 文件与搜索索引）", "data directory (SQLite file and search index)"),
    Setting("TONGXIN_DATABASE_URL", "", "数据库地址；留空则使用数据目录下的 SQLite 文件", "database URL; empty means a SQLite file in the data directory"),
    Setting("TONGXIN_INDEX_DIR", "", "搜索索引目录；留空则为 数据目录/index", "search index directory; empty means DATA_DIR/index"),
    Setting("TONGXIN_HOST", "127.0.0.1", "网页服务监听地址", "web server host"),
    Setting("TONGXIN_PORT", "8000", "网页服务端口", "web server port"),
    Setting("TONGXIN_LANG", "zh", "默认界面语言（zh / en）", "default interface language (zh / en)"),
    Setting("TONGXIN_SMTP_HOST", "", "发信 SMTP 服务器；留空则邮件写入服务日志", "SMTP server for outgoing mail; empty prints mail to the server log"),
    Setting("TONGXIN_SMTP_PORT", "25", "SMTP 端口", "SMTP port"),
    Setting("TONGXIN_MAIL_FROM", "noreply@tongxin.local", "发件人地址", "sender address"),
    Setting("TONGXIN_SMTP_STARTTLS", "0", "1：连接后以 STARTTLS 加密（常用端口 587）", "1: upgrade the SMTP connection with STARTTLS (usually port 587)"),
    Setting("TONGXIN_SMTP_SSL", "0", "1：直接以 TLS 连接 SMTP（常用端口 465）", "1: connect to SMTP over TLS from the start (usually port 465)"),
    Setting("TONGXIN_SMTP_USER", "", "SMTP 登录用户名；留空则不登录", "SMTP login user; empty means no login"),
    Setting("TONGXIN_SMTP_PASSWORD", "", "SMTP 登录密码", "SMTP login password"),
    Setting("TONGXIN_SECRET_KEY", "", "签名密钥（退订链接等）；留空则在数据目录生成并保存 secret_key 文件",
            "signing key (unsubscribe links etc.); empty generates one and keeps it in DATA_DIR/secret_key"),
    Setting("TONGXIN_ALERTS_WORKER", "1", "1：网页服务自行定时处理提醒与发信（无需 cron）；0：只由 tongxin alerts run 处理",
            "1: the web server runs due alerts and mail itself (no cron needed); 0: only `tongxin alerts run` does"),
    Setting("TONGXIN_ALERTS_INTERVAL", "10", "网页服务处理提醒的间隔，单位秒", "seconds between the web server's alert passes"),
    Setting("TONGXIN_COOKIE_SECURE", "1", "登录 Cookie 仅经 HTTPS 发送（本机 127.0.0.1 浏览器亦接受）；0 关闭", "session cookies are Secure (browsers accept them on 127.0.0.1 too); 0 turns it off"),
    Setting("TONGXIN_PUBLIC_URL", "", "对外访问地址（如 https://tongxin.example.cn）；邮件中的链接只用它生成，绝不取自请求头；留空则为 http://HOST:PORT",
            "public address (e.g. https://tongxin.example.cn); every link in e-mails is built from it, never from request headers; empty means http://HOST:PORT"),
    Setting("TONGXIN_MAX_UPLOAD_MB", "20", "上传文件（合同导入等）的大小上限，单位 MB；其他请求体上限 1 MB", "size limit of uploads (contract import etc.) in MB; other request bodies are limited to 1 MB"),
    Setting("TONGXIN_ENCODER", "e5", "语义向量编码器：e5（multilingual-e5-small，随包离线）、hash（字符二元组散列，无模型）或 none（关闭语义匹配）",
            "semantic encoder: e5 (multilingual-e5-small, bundled, offline), hash (character bigrams, no model) or none (semantic matching off)"),
    Setting("TONGXIN_REGISTRY_OFFICE", "", "技术合同登记机构名称（印在登记证明上，如 天津市技术合同登记处）；留空则写“技术合同登记机构”",
            "name of the technology-contract registration office (printed on certificates, e.g. 天津市技术合同登记处); empty prints 技术合同登记机构"),
    Setting("TONGXIN_DEAL_IDLE_DAYS", "14", "洽谈超过多少天无进展即提醒", "remind about deals idle for more than this many days"),
    Setting("TONGXIN_CJK_FONT", "", "PDF 中文字体文件（TrueType .ttf/.ttc）；STSong-Light 表示内置字体；留空则自动查找",
            "CJK font file for PDFs (TrueType .ttf/.ttc); STSong-Light forces the built-in font; empty finds one"),
    Setting("TONGXIN_FONT_DIRS", "", "查找 PDF 中文字体的目录（以 : 分隔）；留空则为系统与用户字体目录",
            "directories searched for a CJK font for PDFs (:-separated); empty means the system and user font directories"),
    Setting("TONGXIN_DATABASE_READ_URL", "", "只读副本（PostgreSQL 热备）地址：检索、匹配与索引追赶从此读取，写入仍走主库；留空则全部走主库",
            "read replica (PostgreSQL hot standby) URL: search, matching and index catch-up read from it, writes go to the primary; empty means the primary for all"),
    Setting("TONGXIN_THREADS", "16", "每个网页进程处理请求的线程数；数据库连接池随之设定（线程数 + 4）",
            "request threads per web process; the database connection pool is sized to match (threads + 4)"),
    Setting("TONGXIN_RESULT_CACHE", "2048", "每个网页进程缓存的公开检索与匹配结果条数（匿名访客；发布、修改、撤下后立即失效）；0 表示关闭",
            "public search and match answers cached per web process (anonymous visitors; a publish, edit or withdrawal invalidates them at once); 0 turns it off"),
    Setting("TONGXIN_RESULT_CACHE_SECONDS", "120", "缓存结果最长复用秒数（机构名称、许可状态等不在变更日志中的信息最多滞后这么久）",
            "seconds a cached answer is reused at most (what the change log does not carry, e.g. an organisation's name or a licence's status, lags at most this long)"),
    Setting("TONGXIN_WORKERS", "1", "网页服务进程数（tongxin serve --workers）", "web worker processes (tongxin serve --workers)"),
    Setting("TONGXIN_WEB_BACKGROUND", "1", "网页进程自行运行后台任务（向量计算）；0 表示交给 tongxin worker 进程",
            "the web process runs background jobs (embedding) itself; 0 leaves them to `tongxin worker` processes"),
    Setting("TONGXIN_LOG_FORMAT", "text", "日志格式：text 或 json（每行一个 JSON，含请求 ID）", "log format: text or json (one JSON object per line, with the request id)"),
    Setting("TONGXIN_METRICS_TOKEN", "", "/metrics 的访问令牌（Authorization: Bearer …）；留空则不校验，请只在内网开放",
            "token for /metrics (Authorization: Bearer …); empty means no check, so expose /metrics on the internal network only"),
)


def setting(name: str, env: dict[str, str] | None = None) -> str:
    """One setting's value from the environment, else its registered default."""
    e = os.environ if env is None else env
    return e.get(name) or next(s.default for s in SETTINGS if s.name == name)


def public_url(env: dict[str, str] | None = None) -> str:
    """The address users reach the site at, without a trailing slash (TONGXIN_PUBLIC_URL, else http://HOST:PORT)."""
    url = setting("TONGXIN_PUBLIC_URL", env).strip().rstrip("/")
    return url or f"http://{setting('TONGXIN_HOST', env)}:{setting('TONGXIN_PORT', env)}"


def threads(env: dict[str, str] | None = None) -> int:
    """TONGXIN_THREADS: request threads per web process (1–256; a bad value falls back to 16)."""
    try:
        n = int(setting("TONGXIN_THREADS", env))
    except ValueError:
        n = 16
    return n if 1 <= n <= 256 else 16


def max_upload_bytes(env: dict[str, str] | None = None) -> int:
    """TONGXIN_MAX_UPLOAD_MB in bytes (a bad value falls back to the default, 20 MB)."""
    raw = setting("TONGXIN_MAX_UPLOAD_MB", env)
    try:
        mb = float(raw)
    except ValueError:
        mb = 0
    return int((mb if mb > 0 else 20) * 1024 * 1024)


@dataclass(frozen=True)
class Config:
    data_dir: str
    database_url: str
    index_dir: str
    host: str
    port: int
    lang: str
    database_read_url: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: str) -> Config:
        e = dict(os.environ if env is None else env)
        get = lambda n: overrides.get(n) or e.get(n) or next(s.default for s in SETTINGS if s.name == n)  # noqa: E731
        data_dir = os.path.abspath(get("TONGXIN_DATA_DIR"))
        url = get("TONGXIN_DATABASE_URL") or "sqlite:///" + os.path.join(data_dir, "tongxin.db")
        index_dir = get("TONGXIN_INDEX_DIR") or os.path.join(data_dir, "index")
        return cls(data_dir, url, index_dir, get("TONGXIN_HOST"), int(get("TONGXIN_PORT")), get("TONGXIN_LANG"),
                   get("TONGXIN_DATABASE_READ_URL"))
