#!/usr/bin/env bash
# The Debian packages tongxin needs, in one place (called by the Makefile and by .ci/run).
#
#   bash scripts/system-deps.sh demo   # what `make demo` / `make install` need: python3-venv (to create .venv)
#   bash scripts/system-deps.sh test   # what `make test` needs on top: chromium (browser tests),
#                                      # fonts-wqy-zenhei (TrueType CJK font embedded in PDFs),
#                                      # fonts-noto-cjk + fonts-noto-color-emoji (pages and icons in screenshots),
#                                      # poppler-utils + poppler-data (the tests read the PDFs back),
#                                      # postgresql-client when pg_dump is missing (backup tests)
#
# The demo needs no fonts: PDFs fall back to reportlab's built-in STSong-Light font. fonts-wqy-zenhei
# is recommended for the demo (the font is then embedded, so PDFs look the same in every viewer).
#
# As root, missing packages are installed (apt-get, noninteractive, quiet). Otherwise the script prints
# the exact `sudo apt-get install ...` command and stops (exit 1). SKIP_SYSTEM_DEPS=1 skips the check.
set -euo pipefail

mode="${1:-test}"
PY="${PY:-python3}"

if [ "${SKIP_SYSTEM_DEPS:-}" = "1" ]; then
  exit 0
fi
case "$mode" in
  demo) wanted=() ;;
  test) wanted=(chromium fonts-wqy-zenhei fonts-noto-cjk fonts-noto-color-emoji poppler-utils poppler-data) ;;
  *) echo "用法 usage: $0 demo|test" >&2; exit 2 ;;
esac

installed() {  # a Debian package is installed
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
# python3 -m venv needs ensurepip, which Debian ships separately (python3-venv); only needed before .venv exists
if [ ! -x .venv/bin/python ] && ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  if [ ${#missing[@]} -gt 0 ] || [ ${#wanted[@]} -gt 0 ]; then
    echo "! 不是 Debian 系统，无法检查系统软件包；请自行安装相应软件 / not a Debian system: cannot check system packages;" >&2
    echo "  install the equivalents of: ${missing[*]} ${wanted[*]} (SKIP_SYSTEM_DEPS=1 hides this note)" >&2
  fi
  [ ${#missing[@]} -eq 0 ] || exit 1
  exit 0
fi

for p in "${wanted[@]}"; do
  installed "$p" || missing+=("$p")
done
# backup/restore tests on PostgreSQL call pg_dump and pg_restore (any postgresql-client-NN provides them)
if [ "$mode" = test ] && ! command -v pg_dump >/dev/null 2>&1; then
  missing+=(postgresql-client)
fi

if [ "$mode" = demo ] && ! installed fonts-wqy-zenhei; then
  echo "提示：安装 fonts-wqy-zenhei 可在 PDF 中嵌入中文字体（否则使用内置 STSong-Light）/" \
       "note: install fonts-wqy-zenhei to embed a CJK font in PDFs (otherwise the built-in STSong-Light is used)" >&2
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "安装系统软件包 installing system packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

cat >&2 <<EOF
✗ 缺少系统软件包 / missing system packages: ${missing[*]}
  请先运行 / run this first, then repeat the make command:

    sudo apt-get install -y --no-install-recommends ${missing[*]}

  （或以 SKIP_SYSTEM_DEPS=1 跳过检查；相关测试将被跳过或失败 / or set SKIP_SYSTEM_DEPS=1 to skip this check;
   the tests that need them are then skipped, or fail with CI=true）
EOF
exit 1
