#!/usr/bin/perl
# A look-alike of a server that Debian does not package (mongo, redpanda, minio, mailpit), for
# the fixture images: one process listening on the given ports and answering just enough for
# devenv's readiness checks and the catalog's health commands. Perl from perl-base, so it
# needs no package.
#   PORT/tcp   accepts connections and holds them open (what it reads is discarded)
#   PORT/http  answers every request with 200 and `OK`
#   PORT/smtp  greets with 220, answers QUIT with 221 and any other line with 250
# Usage: lookalike NAME PORT/KIND... [-- IGNORED...]   (a stack's `command` lands after --)
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;

$| = 1;
my ($name, @args) = @ARGV;
die "usage: lookalike NAME PORT/KIND... [-- ARGS]\n" unless defined $name;
my @specs;
for my $arg (@args) {
  last if $arg eq '--';
  push @specs, $arg;
}
$SIG{TERM} = $SIG{INT} = sub { exit 0 };

my $select = IO::Select->new;
my (%listener_kind, %kind, %buffer);
for my $spec (@specs) {
  my ($port, $kind) = split m{/}, $spec, 2;
  die "lookalike: bad spec `$spec` (PORT/tcp|http|smtp)\n"
    unless $port =~ /^\d+$/ && defined $kind && $kind =~ /^(tcp|http|smtp)$/;
  my $listener = IO::Socket::INET->new(
    LocalAddr => '0.0.0.0', LocalPort => $port, Listen => 128, ReuseAddr => 1, Proto => 'tcp',
  ) or die "$name: cannot listen on port $port: $!\n";
  $listener_kind{$listener} = $kind;
  $select->add($listener);
}
print "$name look-alike listening on @specs\n";

sub hang_up {
  my ($socket) = @_;
  $select->remove($socket);
  delete $kind{$socket};
  delete $buffer{$socket};
  close $socket;
}

while (1) {
  for my $socket ($select->can_read) {
    if (my $kind = $listener_kind{$socket}) {
      my $client = $socket->accept or next;
      $kind{$client} = $kind;
      $buffer{$client} = '';
      $select->add($client);
      syswrite $client, "220 $name ESMTP look-alike\r\n" if $kind eq 'smtp';
      next;
    }
    my $read = sysread $socket, my $data, 4096;
    if (!$read) { hang_up($socket); next; }
    my $kind = $kind{$socket};
    next if $kind eq 'tcp';
    $buffer{$socket} .= $data;
    if ($kind eq 'http') {
      next unless $buffer{$socket} =~ /\r?\n\r?\n/;
      syswrite $socket, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        . "Content-Length: 3\r\nConnection: close\r\n\r\nOK\n";
      hang_up($socket);
      next;
    }
    while ($buffer{$socket} =~ s/^([^\n]*)\n//) {
      my $line = $1;
      if ($line =~ /^QUIT/i) {
        syswrite $socket, "221 bye\r\n";
        hang_up($socket);
        last;
      }
      syswrite $socket, "250 OK\r\n";
    }
  }
}
