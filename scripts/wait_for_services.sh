#!/usr/bin/env bash
# Make PostgreSQL (127.0.0.1:5432) and Mosquitto (127.0.0.1:1883) available for the tests when this machine can:
# start them if installed but stopped, install them from Debian's packages if absent and we are root.
# Prints what it found; never fails — scripts/test.sh decides loudly what to skip.
set -u
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&-; }
wait_port() { for _ in $(seq 1 40); do port_open "$1" && return 0; sleep 0.25; done; return 1; }
can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1 && can_install; then
    echo "wait-for-services: installing postgresql from Debian packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || true
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true; done
    wait_port 5432 || true
  fi
fi
if port_open 5432; then echo "wait-for-services: PostgreSQL is up on 127.0.0.1:5432" >&2
else echo "wait-for-services: PostgreSQL is NOT available" >&2; fi

if ! port_open 1883; then
  if ! command -v mosquitto >/dev/null 2>&1 && can_install; then
    echo "wait-for-services: installing mosquitto from Debian packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto >/dev/null) || true
  fi
  if command -v mosquitto >/dev/null 2>&1; then
    if [ -f /etc/mosquitto/mosquitto.conf ]; then mosquitto -d -c /etc/mosquitto/mosquitto.conf 2>/dev/null || true
    else mosquitto -d -p 1883 2>/dev/null || true; fi
    wait_port 1883 || true
  fi
fi
if port_open 1883; then echo "wait-for-services: Mosquitto is up on 127.0.0.1:1883" >&2
else echo "wait-for-services: Mosquitto is NOT available; broker tests use the embedded broker" >&2; fi

# CJK font for QR sticker labels and photo stamps (inspections/fonts.py): WenQuanYi Micro Hei by default.
cjk_font_present() { ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc \
  /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc "${RW_LABEL_FONT_PATH:-/nonexistent}" >/dev/null 2>&1 \
  || [ -n "$(ls /usr/share/fonts/truetype/wqy/ /usr/share/fonts/opentype/noto/ 2>/dev/null)" ]; }
if ! cjk_font_present && can_install; then
  echo "wait-for-services: installing fonts-wqy-microhei (CJK font for labels) from Debian packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) || true
fi
if cjk_font_present; then echo "wait-for-services: a CJK font for labels is installed" >&2
else echo "wait-for-services: NO CJK font: label tests will fail (apt-get install fonts-wqy-microhei)" >&2; fi
# Debian's chromium for the console's browser tests (tests/test_console_browser.py, driven by Playwright through
# executable_path: nothing downloads a browser). Installed like the services above when absent and root.
if ! command -v chromium >/dev/null 2>&1 && [ -z "${RW_CHROMIUM:-}" ] && can_install; then
  echo "wait-for-services: installing chromium (browser tests) from Debian packages" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || true
fi
if command -v chromium >/dev/null 2>&1 || [ -n "${RW_CHROMIUM:-}" ]; then
  echo "wait-for-services: chromium is installed for the browser tests" >&2
else echo "wait-for-services: chromium is NOT installed: the browser tests will be SKIPPED" >&2; fi
exit 0
