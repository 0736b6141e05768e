#!/bin/sh
# Install this Tracepane folder for the current user: the program under
# ~/.local/lib/tracepane, `tracepane` on the PATH in ~/.local/bin, and a menu entry.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${PREFIX:-$HOME/.local}
mkdir -p "$prefix/lib" "$prefix/bin" "$prefix/share/applications" "$prefix/share/icons/hicolor/512x512/apps"
rm -rf "$prefix/lib/tracepane"
cp -R "$here" "$prefix/lib/tracepane"
ln -sf "$prefix/lib/tracepane/tracepane" "$prefix/bin/tracepane"
cp "$here/tracepane.png" "$prefix/share/icons/hicolor/512x512/apps/tracepane.png"
sed "s|^Exec=tracepane|Exec=$prefix/bin/tracepane|" "$here/tracepane.desktop" \
  > "$prefix/share/applications/tracepane.desktop"
echo "Tracepane installed: run 'tracepane' (is $prefix/bin on your PATH?) or pick it from the menu."
