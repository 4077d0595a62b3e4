# embed.awk: turns the files of share/vgg (configs, label lists) into C string literals, so
# the library finds them without knowing where share/ was installed.  Each is named by its
# path below share/vgg without the extension: "D", "labels/imagenet".
BEGIN { print "/* Generated from the files of share/vgg by lib/embed.awk; do not edit. */"
        print "#include \"internal.h\""
        print "const struct vgg__builtin vgg__builtins[] = {" }
FNR == 1 { if (NR > 1) print "\t},"
           name = FILENAME; sub(/^(.*\/)?share\/vgg\//, "", name); sub(/\.[a-z]+$/, "", name)
           printf "\t{\"%s\",\n", name }
{ line = $0; gsub(/\\/, "\\\\", line); gsub(/"/, "\\\"", line); printf "\t\t\"%s\\n\"\n", line }
END { print "\t},"; print "\t{0, 0}"; print "};" }
