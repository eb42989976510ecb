#!/usr/bin/env bash
# make-images.sh: draws this directory's images with ImageMagick (convert):
# favicon.png (32x32, the "WA" monogram) and newsletter.png (120x90, an
# envelope on the paper's green).  Made for this project; run it again to
# change them.  -strip keeps the files byte-for-byte reproducible.
set -euo pipefail
cd "$(dirname "$0")"
serif=/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf

convert -size 32x32 xc:none \
    -fill '#0b5d3b' -draw 'roundrectangle 0,0 31,31 6,6' \
    -fill '#d98e04' -draw 'rectangle 0,27 31,29' \
    -font "$serif" -pointsize 15 -fill white -gravity center \
    -annotate +0-2 'WA' \
    -strip -define png:exclude-chunks=date,time favicon.png

convert -size 120x90 xc:'#0b5d3b' \
    -fill '#073f28' -draw 'circle 100,12 130,12' \
    -fill '#fbfaf6' -stroke '#d98e04' -strokewidth 2 \
    -draw 'rectangle 22,24 98,72' \
    -fill none -stroke '#d98e04' -strokewidth 2 \
    -draw 'polyline 22,24 60,52 98,24' \
    -draw 'line 22,72 50,46' -draw 'line 98,72 70,46' \
    -stroke none -fill '#d98e04' -draw 'circle 92,26 98,26' \
    -font "$serif" -pointsize 8 -fill white -gravity south \
    -annotate +0+5 'WEST AFRICA PRESS' \
    -strip -define png:exclude-chunks=date,time newsletter.png
