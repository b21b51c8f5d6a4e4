# Smoke test: shows the card and plays half a second of silence.
cat /proc/asound/cards
cat "/proc/asound/card$VSND_CARD/pcm${VSND_DEV}p/info" 2>/dev/null
head -c 96000 /dev/zero >/tmp/silence.raw
vsnd_play smoke S16_LE 48000 2 /tmp/silence.raw
