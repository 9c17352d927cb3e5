# SPDX-License-Identifier: MIT
# alloc_heavy.pl - allocation-heavy Perl for tests/preload/perl.sh: hashes
# of arrays growing and shrinking, regex captures and substitutions on
# generated text, sorts with custom comparators, string building, deep
# structures dropped at once.  Output is deterministic (fixed seed, every
# hash walked in sorted order).  Usage: perl alloc_heavy.pl [scale]
use strict;
use warnings;

my $scale = shift // 1;
srand(42);
my @words = map { join '', map { chr(97 + int(rand(26))) } 1 .. (2 + $_ % 11) }
    0 .. 1999;

# 1. a word-frequency index over generated text, regex tokenised
my (%freq, %pos, $text);
for my $line (0 .. 20000 * $scale - 1) {
	my $s = join ' ', map { $words[int(rand(@words))] } 1 .. 12;
	$s =~ s/\b(\w)(\w*)\b/\u$1$2/g if $line % 7 == 0;
	$text .= $s . "\n" if $line % 50 == 0;
	while ($s =~ /(\w+)/g) {
		my $w = lc $1;
		$freq{$w}++;
		push @{ $pos{$w} }, $line if @{ $pos{$w} // [] } < 40;
	}
}
my @top = (sort { $freq{$b} <=> $freq{$a} || $a cmp $b } keys %freq)[0 .. 9];
print "words ", scalar(keys %freq), " top ", join(',', map { "$_=$freq{$_}" } @top), "\n";
my $plen = 0;
$plen += @{ $pos{$_} } for keys %pos;
print "positions $plen text ", length($text), "\n";

# 2. records: hashes of hashes, sorted several ways, then dropped
my @recs;
for my $i (0 .. 60000 * $scale - 1) {
	push @recs, {
		id   => $i,
		name => $words[$i % @words] . $words[($i * 7) % @words],
		tags => [ map { $words[($i + $_) % @words] } 0 .. $i % 6 ],
		val  => ($i * 7919) % 100003,
	};
}
my @by_name = sort { $a->{name} cmp $b->{name} || $a->{id} <=> $b->{id} } @recs;
my @by_val = sort { $b->{val} <=> $a->{val} || $a->{id} <=> $b->{id} } @recs;
my %groups;
push @{ $groups{ substr($_->{name}, 0, 2) } }, $_ for @recs;
my $sum = 0;
for my $g (sort keys %groups) {
	my $n = 0;
	$n += scalar @{ $_->{tags} } for @{ $groups{$g} };
	$sum += $n * length $g;
}
print "records ", scalar(@recs), " first $by_name[0]{name} last $by_name[-1]{name}",
    " maxval $by_val[0]{val} groups ", scalar(keys %groups), " sum $sum\n";
@recs = @by_name = @by_val = ();
%groups = ();

# 3. string churn: substitutions, split/join, sprintf, reverse
my $digest = 0;
for my $i (0 .. 3000 * $scale - 1) {
	my $s = join '-', map { sprintf '%05d:%s', $_ * $i, $words[$_ % @words] } 0 .. 30;
	(my $t = $s) =~ s/(\d+):(\w+)/$2:@{[scalar reverse $1]}/g;
	my @parts = split /-/, $t;
	$t = join '|', sort @parts;
	$t =~ tr/a-m/n-z/;
	$digest = ($digest * 31 + length($t) + ord(substr($t, $i % length $t, 1))) % 1000000007;
}
print "strings $digest\n";

# 4. a deep tree built and freed repeatedly
my $nodes = 0;
sub tree { my $d = shift; $nodes++; return $d ? [ map { tree($d - 1) } 1 .. 3 ] : { leaf => 'x' x ($d + 5) } }
for (1 .. 10 * $scale) { my $t = tree(7); }
print "nodes $nodes\nOK\n";
