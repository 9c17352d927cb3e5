# SPDX-License-Identifier: MIT
# gen-c.awk - writes the C program that tests/preload/gcc.sh compiles:
# N functions (awk -v n=N, default 300) with big switches, loops over
# constant tables, struct initialisers and string literals, and a main that
# prints a checksum over all of them.  Deterministic: no randomness.
BEGIN {
	if (!n)
		n = 300
	print "#include <stdio.h>"
	print "#include <string.h>"
	print "struct rec { int a; long b; const char *s; double d; };"
	for (f = 0; f < n; f++) {
		printf "static const struct rec tab%d[] = {\n", f
		for (k = 0; k < 24; k++)
			printf "\t{ %d, %dL, \"s%d_%d_%s\", %d.5 },\n", (f * k) % 97, f * 1000 + k, f, k, substr("abcdefghijklmnopqrstuvwxyz", 1 + (f + k) % 26), k
		print "};"
		printf "static long fn%d(long x)\n{\n\tlong acc = %d;\n", f, f
		printf "\tfor (unsigned i = 0; i < sizeof(tab%d) / sizeof(tab%d[0]); i++)\n", f, f
		printf "\t\tacc += tab%d[i].a * x + tab%d[i].b + (long)strlen(tab%d[i].s) + (long)tab%d[i].d;\n", f, f, f, f
		print "\tswitch ((x + acc) % 64) {"
		for (c = 0; c < 64; c++) {
			printf "\tcase %d: acc = acc * %d + %d", c, c + 3, (c * f) % 1009
			if (f > 0 && c % 8 == 0)
				printf " + fn%d(x / 2 + %d)", (f * 7 + c) % f, c
			print "; break;"
		}
		print "\t}"
		printf "\treturn acc %% 1000000007;\n}\n"
	}
	print "int main(void)\n{\n\tlong sum = 0;"
	for (f = 0; f < n; f++)
		printf "\tsum = (sum * 31 + fn%d(%d)) %% 1000000007;\n", f, f % 17
	print "\tprintf(\"checksum %ld\\n\", sum);\n\treturn 0;\n}"
}
