# The newcomer demo: plays the image's own 5 s tone, then records 3 s; the host
# compares both with what vsnd wrote and read.
vsnd_play demo-play S16_LE 48000 2 /share/demo-tone.raw
demo_rc=$?
vsnd_record demo-rec S16_LE 48000 2 144000 || demo_rc=1
[ $demo_rc = 0 ]
