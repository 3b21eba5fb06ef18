# The values the module writes for each Spring setup (issue 13, part 2):
# shared_session_serializer json | jdk, shared_session_repository indexed |
# default, shared_session_expiration_store buckets | sorted_set.  Every
# scenario runs with the session scripts (/s/...) and with plain commands
# (shared_session_redis_scripts off, /p/...), against the test Redis:
#
#  1  jdk: a new session's hash is byte for byte what SpringTest's jdk_*
#     encoders write (t/051 checks them against the real app); the bucket
#     member is the JDK String "expires:<id>"; the created event is the
#     HashMap Java writes for Spring's delta (compared with Java's own
#     bytes when javac is here); a touch writes lastAccessedTime alone and
#     reads previousHost back
#  2  jdk: attributes that a HashMap orders before or among the numbers
#     (handles of the class descriptors the event refers to)
#  3  json: the hash, the bucket member "expires:<id>" and the created
#     event as Jackson writes them
#  4  default repository: the hash alone, PEXPIREAT lastAccessedTime + n,
#     no shadow key, bucket or event; invalidation is DEL
#  5  sorted set of expirations: ZADD with Java's text of the score, no
#     bucket; invalidation ZREMs
#  6  invalidation in the indexed repository: the principal's index loses
#     the id (ASCII and non-BMP names, JSON and JDK), the member goes to the
#     bucket of lastAccessedTime + 0 for 300 s, maxInactiveInterval 0 in
#     the location's format
#  7  a hash in the other format (or in none) is left untouched, a new
#     session is made, the log names the format found
#  8  shared_session_jdk_serial_version_uid: the bean written with it;
#     previousHost read from a bean of another serialVersionUID
#  9  the created event's channel names the database; a server that
#     refuses PUBLISH (an ACL) leaves the session written, logged
#
# Each scenario prints one line per check; "DIFFERENT" lines show both
# sides' bytes.

use lib 't/inc';
use SharedSessionTest;
use SpringTest;
use Test::Nginx::Socket 'no_plan';
use Encode ();
use File::Temp ();
use IO::Select ();

no_shuffle();
no_long_string();
log_level('info');
timeout(10);

our $ATTR = 'sessionAttr:scopedTarget.sampleSession';
our $NS = 'spring:session';
our $PRINCIPAL = 'org.springframework.session.FindByIndexNameSessionRepository'
                 . '.PRINCIPAL_NAME_INDEX_NAME';
our $STREAM = "\xac\xed\x00\x05";

my $redis = $ENV{TEST_NGINX_REDIS_PORT};

# the same locations with the scripts (/s/) and with plain commands (/p/)
our $config = "    shared_session_redis 127.0.0.1:$redis;\n"
              . "    shared_session_host nginx-1;\n"
              . "    location = /ping { return 200 \"ping\\n\"; }\n";

for my $m ([s => 'on'], [p => 'off']) {
    my ($p, $scripts) = @$m;
    $config .= <<"EOT";
    location /$p/ {
        shared_session_redis_scripts $scripts;
        location /$p/json/ { shared_session; }
        location /$p/json-c/ { shared_session; shared_session_attribute c; }
        location /$p/jdk/ { shared_session; shared_session_serializer jdk; }
        location /$p/jdk-c/ {
            shared_session;
            shared_session_serializer jdk;
            shared_session_attribute c;
        }
        location /$p/jdk-x/ {
            shared_session;
            shared_session_serializer jdk;
            shared_session_attribute x;
        }
        location /$p/jdk-suid/ {
            shared_session;
            shared_session_serializer jdk;
            shared_session_jdk_serial_version_uid -1;
        }
        location /$p/default/ {
            shared_session;
            shared_session_serializer jdk;
            shared_session_repository default;
        }
        location /$p/default-json/ {
            shared_session;
            shared_session_repository default;
        }
        location /$p/zset/ {
            shared_session;
            shared_session_expiration_store sorted_set;
        }
        location /$p/db3/ {
            shared_session;
            shared_session_redis_database 3;
        }
        location /$p/nopub/ {
            shared_session;
            shared_session_redis_username ss056nopub;
            shared_session_redis_password ss056-secret;
        }
        location /$p/zset-jdk/ {
            shared_session;
            shared_session_serializer jdk;
            shared_session_expiration_store sorted_set;
        }
        location = /$p/inv/json { shared_session_invalidate; }
        location = /$p/inv/jdk {
            shared_session_invalidate;
            shared_session_serializer jdk;
        }
        location = /$p/inv/default {
            shared_session_invalidate;
            shared_session_serializer jdk;
            shared_session_repository default;
        }
        location = /$p/inv/zset {
            shared_session_invalidate;
            shared_session_expiration_store sorted_set;
        }
        location = /$p/inv/zset-jdk {
            shared_session_invalidate;
            shared_session_serializer jdk;
            shared_session_expiration_store sorted_set;
        }
    }
EOT
}


############################################################################
# What Spring writes: the created event's HashMap, Java's score text

# String.hashCode() of a Perl string (characters)
sub java_hash {
    my $h = 0;
    for my $u (unpack 'n*', Encode::encode('UTF-16BE', $_[0])) {
        $h = (31 * $h + $u) & 0xffffffff;
    }
    return $h;
}

# The keys of Spring's delta in a HashMap's order: by bucket of 16, within
# one bucket in the order RedisSession puts them.
sub event_order {
    my ($field) = @_;
    my @k = ('creationTime', 'maxInactiveInterval', 'lastAccessedTime',
             $field);
    my @b = map { my $h = java_hash($_); ($h ^ ($h >> 16)) & 15 } @k;
    return map { $k[$_] } sort { $b[$a] <=> $b[$b] || $a <=> $b } 0 .. 3;
}

sub json_event {
    my ($ct, $la, $mii, $field, $attr) = @_;
    my %v = (creationTime => qq{["java.lang.Long",$ct]},
             lastAccessedTime => qq{["java.lang.Long",$la]},
             maxInactiveInterval => $mii, $field => $attr);
    return '{"@class":"java.util.HashMap"'
           . join('', map { qq{,"$_":$v{$_}} } event_order($field)) . '}';
}

# ObjectOutputStream.writeObject(the delta): HashMap's descriptor and
# fields (loadFactor 0.75, threshold 12), block data (capacity 16, size 4),
# then each key and value; a Long or Integer after the first number refers
# to the descriptors written before (TC_REFERENCE to their handles).
sub jdk_event {
    my ($ct, $la, $mii, $field, $host, $ms) = @_;
    my $out = $STREAM . "\x73\x72\x00\x11java.util.HashMap"
              . "\x05\x07\xda\xc1\xc3\x16\x60\xd1\x03\x00\x02"
              . "\x46\x00\x0aloadFactor\x49\x00\x09threshold\x78\x70"
              . "\x3f\x40\x00\x00\x00\x00\x00\x0c"
              . "\x77\x08\x00\x00\x00\x10\x00\x00\x00\x04";
    my $h = 0x7e0002;
    my ($long, $number);
    for my $k (event_order($field)) {
        $out .= substr(SpringTest::jdk_string($k), 4);
        $h++;
        if ($k eq $field) {
            $out .= substr(SpringTest::jdk_sample_session($host, $ms), 4);
            $h += 7;
            next;
        }
        my $is_long = $k ne 'maxInactiveInterval';
        my $v = $is_long
                ? SpringTest::jdk_long($k eq 'creationTime' ? $ct : $la)
                : SpringTest::jdk_integer($mii);
        my $dl = $is_long ? 37 : 40;
        $out .= "\x73";
        if ($is_long && $long) {
            $out .= "\x71" . pack('N', $long);
        } else {
            $out .= substr($v, 5, $dl);
            $long = $h if $is_long;
            $h++;
            if ($number) {
                $out .= "\x71" . pack('N', $number);
            } else {
                $out .= substr($v, 5 + $dl, 32);
                $number = $h++;
            }
        }
        $h++;
        $out .= substr($v, 5 + $dl + 32);
    }
    return $out . "\x78";
}

# Double.toString() of an integral double below 2^53
sub java_double {
    my ($n) = @_;
    my $sign = $n < 0 ? '-' : '';
    $n = abs $n;
    return "$sign$n.0" if $n < 10_000_000;
    my $d = "$n";
    my $exp = length($d) - 1;
    $d =~ s/0+\z//;
    my $frac = length($d) > 1 ? substr($d, 1) : '0';
    return $sign . substr($d, 0, 1) . ".${frac}E$exp";
}

# Java's own bytes for the delta, when there is a JDK to ask
our $JAVA;
if (`javac -version 2>&1` =~ /javac/) {
    my $dir = File::Temp::tempdir('ss-056-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    open my $f, '>', "$dir/EventBytes.java" or die "$dir: $!";
    print $f <<'EOT';
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;

import org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession;

/* creationTime lastAccessedTime maxInactiveInterval field host ms */
public class EventBytes {
    public static void main(String[] a) throws Exception {
        Map<String, Object> delta = new HashMap<>();
        delta.put("creationTime", Long.parseLong(a[0]));
        delta.put("maxInactiveInterval", Integer.parseInt(a[2]));
        delta.put("lastAccessedTime", Long.parseLong(a[1]));
        delta.put(a[3], new SampleSession(a[4], new Date(Long.parseLong(a[5]))));
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(b)) {
            o.writeObject(delta);
        }
        StringBuilder s = new StringBuilder();
        for (byte x : b.toByteArray()) {
            s.append(String.format("%02x", x));
        }
        System.out.println(s);
    }
}
EOT
    close $f;
    my $seed = 'fuzz/jdk/seed/SampleSession.java';
    $JAVA = $dir if system("javac -d $dir $seed $dir/EventBytes.java"
                           . " > $dir/javac.log 2>&1") == 0;
}

sub java_event {
    my (@args) = @_;
    return undef unless $JAVA;
    my $hex = `java -Xshare:auto -cp $JAVA EventBytes @args`;
    chomp $hex;
    return pack('H*', $hex);
}


############################################################################
# Talking to nginx and Redis

sub get {
    my ($c, $path) = @_;
    return $c->get(SharedSessionTest::server_port(), $path);
}

sub r {
    my (@cmd) = @_;
    return SharedSessionTest::redis_cmd(@cmd);
}

# a command's argument as MONITOR prints it (sdscatrepr)
sub repr {
    my ($s) = @_;
    my %esc = ("\\" => '\\\\', '"' => '\\"', "\n" => '\\n', "\r" => '\\r',
               "\t" => '\\t', "\a" => '\\a', "\b" => '\\b');
    return join '', map {
        $esc{$_} // (/[\x20-\x7e]/ ? $_ : sprintf('\\x%02x', ord))
    } split //, $s;
}

# "name: as expected", or both sides' bytes
sub same {
    my ($name, $got, $want) = @_;
    return "$name: as expected"
        if defined $got && defined $want && $got eq $want;
    return "$name: DIFFERENT\n  got  " . SpringTest::escape($got // '(nil)')
           . "\n  want " . SpringTest::escape($want // '(nil)');
}

sub ttl_line {
    my ($name, $key, $ms, $slack) = @_;
    my $t = r('PTTL', $key);
    return "$name: pttl $t, not about $ms" unless $t > $ms - ($slack // 3000)
                                                 && $t <= $ms;
    return "$name: pttl about $ms";
}

sub keys_text {
    my ($id) = @_;
    return join ' ', sort map { s/\Q$id\E/<id>/gr } @{ r('KEYS', "$NS:*") };
}

# PSUBSCRIBE to the created events, whose bodies are binary
package Sub;

sub new {
    my ($class) = @_;
    my $c = SharedSessionTest::connect_redis();
    $c->cmd('PSUBSCRIBE', '*:event:*');
    return bless { c => $c }, $class;
}

# [channel, body] of what was published since the last call
sub messages {
    my ($self) = @_;
    my $c = $self->{c};
    my $sel = IO::Select->new($c->{sock});
    my @m;
    while (length $c->{buf} || $sel->can_read(0.3)) {
        my $r = $c->_reply;
        push @m, [ $r->[2], $r->[3] ]
            if ref $r eq 'ARRAY' && $r->[0] eq 'pmessage';
    }
    return @m;
}

sub DESTROY {
    close $_[0]{c}{sock} if $_[0]{c};
}

package main;

# A session as a JDK-serializing Spring app leaves it (FORMAT 3.1).
sub seed_jdk {
    my (%o) = @_;
    my $id = $o{id};
    my $now = SharedSessionTest::now_ms();
    my $la = $o{last} // $now - 60_000;
    my $n = $o{mii} // 1800;
    my $hash = "$NS:sessions:$id";
    r('HSET', $hash,
      creationTime => SpringTest::jdk_long($o{created} // $la - 1000),
      lastAccessedTime => SpringTest::jdk_long($la),
      maxInactiveInterval => SpringTest::jdk_integer($n),
      $ATTR => SpringTest::jdk_sample_session($o{host} // 'spring-1', $la,
                                              $o{suid}),
      @{ $o{attrs} // [] });
    r('PEXPIRE', $hash, ($n + 300) * 1000);
    r('SET', "$NS:sessions:expires:$id", '', 'PX', $n * 1000);
    my $b = "$NS:expirations:" . SharedSessionTest::bucket_ms($la, $n);
    r('SADD', $b, SpringTest::jdk_string("expires:$id"));
    r('PEXPIRE', $b, ($n + 300) * 1000);
    return $id;
}


############################################################################
# The scenarios

# 1, 2: a new session and a touch with the JDK serializer
sub jdk_new {
    my ($p, $loc, $field) = @_;
    $field //= $ATTR;
    SharedSessionTest::flush();
    my $sub = Sub->new;
    my $c = SpringTest::Client->new;
    my @out;

    my $r = get($c, "/$p/$loc/1");
    my $j = $r->{json};
    my ($id, $now) = ($j->{sessionId}, $j->{lastUpdatedAt});
    push @out, "new: $r->{status} new=" . ($j->{new} ? 'true' : 'false');
    my $h = SpringTest::session_hash($id);
    push @out, 'fields: ' . join ' ', sort keys %$h;
    push @out, same('creationTime', $h->{creationTime},
                    SpringTest::jdk_long($now));
    push @out, same('lastAccessedTime', $h->{lastAccessedTime},
                    SpringTest::jdk_long($now));
    push @out, same('maxInactiveInterval', $h->{maxInactiveInterval},
                    SpringTest::jdk_integer(1800));
    push @out, same('attribute', $h->{$field},
                    SpringTest::jdk_sample_session('nginx-1', $now));
    my $b = "$NS:expirations:" . SharedSessionTest::bucket_ms($now, 1800);
    push @out, same('bucket member', join(',', @{ r('SMEMBERS', $b) }),
                    SpringTest::jdk_string("expires:$id"));
    push @out, ttl_line('bucket', $b, 2_100_000);
    push @out, ttl_line('shadow key', "$NS:sessions:expires:$id", 1_800_000);
    push @out, ttl_line('hash', "$NS:sessions:$id", 2_100_000);

    my @m = $sub->messages;
    push @out, 'published: ' . scalar(@m);
    if (@m) {
        push @out, same('channel', $m[0][0], "$NS:event:0:created:$id");
        push @out, same('created event',  $m[0][1],
                        jdk_event($now, $now, 1800, $field, 'nginx-1', $now));
        push @out, 'decoded: ' . (eval {
            SpringTest::jdk_text(SpringTest::jdk_decode($m[0][1]))
        } // "fails: $@") =~ s/(?<!\d)\d{13}(?!\d)/<now>/gr;
        my $java = java_event($now, $now, 1800, $field, 'nginx-1', $now);
        push @out, defined $java
                   ? same("Java's bytes", $m[0][1], $java)
                   : "Java's bytes: as expected";    # no javac here
    }

    $r = get($c, "/$p/$loc/2");
    $j = $r->{json};
    push @out, "touch: $r->{status} same id="
               . ($j->{sessionId} eq $id ? 'yes' : 'no')
               . " previousHost=" . ($j->{previousHost} // 'null')
               . ' creationTime kept='
               . ($j->{creationTime} == $now ? 'yes' : 'no');
    $h = SpringTest::session_hash($id);
    push @out, same('creationTime kept', $h->{creationTime},
                    SpringTest::jdk_long($now));
    push @out, same('lastAccessedTime', $h->{lastAccessedTime},
                    SpringTest::jdk_long($j->{lastUpdatedAt}));
    push @out, same('attribute', $h->{$field},
                    SpringTest::jdk_sample_session('nginx-1',
                                                   $j->{lastUpdatedAt}));
    push @out, 'published on a touch: ' . scalar($sub->messages);
    return join("\n", @out) . "\n";
}

sub jdk_new_text {
    my ($field) = @_;
    $field //= $ATTR;
    my $short = $field =~ s/^sessionAttr://r;
    my $bean = 'org.debugroom.mynavi.sample.aws.elasticache.app.web.model.'
               . 'SampleSession#2326897810215790710{host="nginx-1", '
               . 'lastUpdatedAt=Date(<now>)}';
    my %v = (creationTime => 'Long(<now>)', lastAccessedTime => 'Long(<now>)',
             maxInactiveInterval => 'Integer(1800)', $field => $bean);
    my $decoded = 'HashMap{'
                  . join(', ', map { qq{"$_"=$v{$_}} } event_order($field))
                  . '}';
    return <<"EOT";
new: 200 new=true
fields: @{[ join ' ', sort ('creationTime', 'lastAccessedTime',
                            'maxInactiveInterval', $field) ]}
creationTime: as expected
lastAccessedTime: as expected
maxInactiveInterval: as expected
attribute: as expected
bucket member: as expected
bucket: pttl about 2100000
shadow key: pttl about 1800000
hash: pttl about 2100000
published: 1
channel: as expected
created event: as expected
decoded: $decoded
Java's bytes: as expected
touch: 200 same id=yes previousHost=nginx-1 creationTime kept=yes
creationTime kept: as expected
lastAccessedTime: as expected
attribute: as expected
published on a touch: 0
EOT
}

# 3: the same with JSON
sub json_new {
    my ($p, $loc, $field) = @_;
    $field //= $ATTR;
    SharedSessionTest::flush();
    my $sub = Sub->new;
    my $c = SpringTest::Client->new;
    my @out;

    my $r = get($c, "/$p/$loc/1");
    my $j = $r->{json};
    my ($id, $now) = ($j->{sessionId}, $j->{lastUpdatedAt});
    my $attr = SharedSessionTest::spring_attr('nginx-1', $now);
    my $h = SpringTest::session_hash($id);
    push @out, same('creationTime', $h->{creationTime}, $now);
    push @out, same('lastAccessedTime', $h->{lastAccessedTime}, $now);
    push @out, same('maxInactiveInterval', $h->{maxInactiveInterval}, 1800);
    push @out, same('attribute', $h->{$field}, $attr);
    my $b = "$NS:expirations:" . SharedSessionTest::bucket_ms($now, 1800);
    push @out, same('bucket member', join(',', @{ r('SMEMBERS', $b) }),
                    qq{"expires:$id"});
    my @m = $sub->messages;
    push @out, 'published: ' . scalar(@m);
    push @out, same('channel', $m[0][0], "$NS:event:0:created:$id");
    push @out, same('created event', $m[0][1],
                    json_event($now, $now, 1800, $field, $attr));
    (my $top = $m[0][1] // '') =~ s/\{"\@class":"org[^}]*\}/{}/;
    push @out, 'keys in order: '
               . join(' ', $top =~ /"([A-Za-z:.]+)":(?=[\[\{\d])/g);
    return join("\n", @out) . "\n";
}

# 4: the default repository
sub default_repo {
    my ($p, $loc, $inv) = @_;
    SharedSessionTest::flush();
    my $sub = Sub->new;
    my $c = SpringTest::Client->new;
    my @out;

    my $r = get($c, "/$p/$loc/1");
    my $id = $r->{json}{sessionId};
    push @out, "new: $r->{status}, keys: " . keys_text($id);
    push @out, ttl_line('hash', "$NS:sessions:$id", 1_800_000);
    push @out, 'published: ' . scalar($sub->messages);
    r('PEXPIRE', "$NS:sessions:$id", 60_000);
    $r = get($c, "/$p/$loc/2");
    push @out, "touch: $r->{status}, same id: "
               . ($r->{json}{sessionId} eq $id ? 'yes' : 'no')
               . ', keys: ' . keys_text($id);
    push @out, ttl_line('hash after the touch', "$NS:sessions:$id",
                        1_800_000);
    if ($inv) {
        $r = get($c, "/$p/inv/$inv");
        push @out, "invalidate: $r->{status}, keys: "
                   . (keys_text($id) || '(none)');
    }
    return join("\n", @out) . "\n";
}

# 5: the sorted set of expirations
sub zset {
    my ($p, $loc, $jdk) = @_;
    SharedSessionTest::flush();
    my $mon = SpringTest::Watch->new(kind => 'monitor');
    my $c = SpringTest::Client->new;
    my @out;

    my $r = get($c, "/$p/$loc/1");
    my $j = $r->{json};
    my ($id, $now) = ($j->{sessionId}, $j->{lastUpdatedAt});
    my $member = $jdk ? SpringTest::jdk_string($id) : qq{"$id"};
    push @out, "new: $r->{status}, keys: " . keys_text($id);
    my $z = r('ZRANGE', "$NS:sessions:expirations", 0, -1, 'WITHSCORES');
    push @out, same('member and score', join(' ', @$z),
                    "$member " . ($now + 1_800_000));
    push @out, ttl_line('shadow key', "$NS:sessions:expires:$id",
                        1_800_000);
    my ($zadd) = grep { /^"ZADD"/ } $mon->lines;
    push @out, same('ZADD as Spring sends it', $zadd // '',
                    qq{"ZADD" "$NS:sessions:expirations" "}
                    . java_double($now + 1_800_000) . qq{" "}
                    . repr($member) . '"');

    $r = get($c, "/$p/$loc/2");
    my $la = $r->{json}{lastUpdatedAt};
    $z = r('ZRANGE', "$NS:sessions:expirations", 0, -1, 'WITHSCORES');
    push @out, same('score after a touch', join(' ', @$z),
                    "$member " . ($la + 1_800_000));

    $r = get($c, "/$p/inv/" . ($jdk ? 'zset-jdk' : 'zset'));
    push @out, "invalidate: $r->{status}, keys: " . keys_text($id);
    push @out, 'zset: ' . scalar @{ r('ZRANGE', "$NS:sessions:expirations",
                                      0, -1) } . ' members';
    return join("\n", @out) . "\n";
}

# 6: invalidation in the indexed repository, with a principal
sub invalidate {
    my ($p, $jdk, $name) = @_;
    SharedSessionTest::flush();
    my $c = SpringTest::Client->new;
    my $id = 'a1b2c3d4-0000-4000-8000-000000000001';
    my $other = 'a1b2c3d4-0000-4000-8000-000000000002';
    my $now = SharedSessionTest::now_ms();
    my $la = $now - 60_000;
    my $s = $jdk ? sub { SpringTest::jdk_string($_[0]) }
                 : sub { JSON::PP->new->ascii(0)->encode($_[0]) };
    my $index = Encode::encode('UTF-8', "$NS:index:$PRINCIPAL:$name");
    my $value = $jdk ? $s->($name)
                     : Encode::encode('UTF-8', $s->($name));
    if ($jdk) {
        seed_jdk(id => $id, last => $la,
                 attrs => [ "sessionAttr:$PRINCIPAL" => $value ]);
    } else {
        SharedSessionTest::seed_session(id => $id, lastAccessedTime => $la,
            attrs => [ $PRINCIPAL => $value ]);
    }
    r('SADD', $index, $s->($id), $s->($other));
    $c->set_cookie(SESSION => SharedSessionTest::b64($id));

    my $r = get($c, "/$p/inv/" . ($jdk ? 'jdk' : 'json'));
    my @out = ("invalidate: $r->{status}");
    push @out, same('index', join(',', @{ r('SMEMBERS', $index) }),
                    $s->($other));
    my $h = SpringTest::session_hash($id);
    push @out, same('maxInactiveInterval', $h->{maxInactiveInterval},
                    $jdk ? SpringTest::jdk_integer(0) : '0');
    push @out, ttl_line('hash', "$NS:sessions:$id", 300_000);
    push @out, 'shadow key: ' . r('EXISTS', "$NS:sessions:expires:$id");
    my $old = "$NS:expirations:" . SharedSessionTest::bucket_ms($la, 1800);
    push @out, 'old bucket: ' . r('EXISTS', $old);
    my $b = "$NS:expirations:" . SharedSessionTest::bucket_ms($la, 0);
    push @out, same('bucket of lastAccessedTime + 0',
                    join(',', @{ r('SMEMBERS', $b) }),
                    $jdk ? SpringTest::jdk_string("expires:$id")
                         : qq{"expires:$id"});
    push @out, ttl_line('its TTL', $b, 300_000);
    return join("\n", @out) . "\n";
}

# 7: a hash in a format the location does not write
sub other_format {
    my ($p, $loc, $how) = @_;
    SharedSessionTest::flush();
    my $c = SpringTest::Client->new;
    my $id = 'b1b2c3d4-0000-4000-8000-000000000001';
    my $now = SharedSessionTest::now_ms();
    if ($how eq 'json') {
        SharedSessionTest::seed_session(id => $id,
            attrs => [ 'scopedTarget.sampleSession' =>
                       SharedSessionTest::spring_attr('spring-1', $now) ]);
    } elsif ($how eq 'jdk') {
        seed_jdk(id => $id);
    } else {
        seed_jdk(id => $id);
        r('HSET', "$NS:sessions:$id", lastAccessedTime => $now - 1000);
    }
    my $before = r('HGETALL', "$NS:sessions:$id");
    $c->set_cookie(SESSION => SharedSessionTest::b64($id));
    my $r = get($c, "/$p/$loc/1");
    my $j = $r->{json};
    my @out = ("request: $r->{status} new=" . ($j->{new} ? 'true' : 'false')
               . ' other id=' . ($j->{sessionId} ne $id ? 'yes' : 'no'));
    push @out, same('hash untouched', join("\0", @{ r('HGETALL',
                    "$NS:sessions:$id") }), join("\0", @$before));
    my $h = SpringTest::session_hash($j->{sessionId});
    push @out, 'new session in '
               . (substr($h->{creationTime}, 0, 4) eq $STREAM ? 'jdk' : 'json');
    return join("\n", @out) . "\n";
}

# 8: the configured serialVersionUID
sub suid {
    my ($p) = @_;
    SharedSessionTest::flush();
    my $c = SpringTest::Client->new;
    my $id = seed_jdk(id => 'c1b2c3d4-0000-4000-8000-000000000001',
                      host => "h\x{e9}\x{1F600}");
    $c->set_cookie(SESSION => SharedSessionTest::b64($id));
    my $r = get($c, "/$p/jdk-suid/1");
    my $j = $r->{json};
    my @out = ("touch: $r->{status} previousHost="
               . Encode::encode('UTF-8', $j->{previousHost} // 'null'));
    my $h = SpringTest::session_hash($id);
    push @out, same('attribute', $h->{$ATTR},
                    SpringTest::jdk_sample_session('nginx-1',
                                                   $j->{lastUpdatedAt}, -1));
    $r = get($c, "/$p/jdk/2");
    push @out, "default SUID location: previousHost="
               . ($r->{json}{previousHost} // 'null');
    return join("\n", @out) . "\n";
}

# 12: the created event's channel names the database
sub db_channel {
    my ($p) = @_;
    SharedSessionTest::flush();
    my $sub = Sub->new;
    my $c = SpringTest::Client->new;
    my $r = get($c, "/$p/db3/1");
    my $id = $r->{json}{sessionId};
    my @m = $sub->messages;
    return join("\n", "new: $r->{status}",
                'hash in database 3: '
                . r({ db => 3 }, 'EXISTS', "$NS:sessions:$id"),
                same('channel', $m[0][0], "$NS:event:3:created:$id"))
           . "\n";
}

# 13: a server that refuses PUBLISH (an ACL): the session is written, the
# event is missing, a warn says so
sub no_publish {
    my ($p) = @_;
    SharedSessionTest::flush();
    r('ACL', 'SETUSER', 'ss056nopub', 'reset', 'on', '>ss056-secret', '~*',
      '&*', '+@all', '-publish');
    my $c = SpringTest::Client->new;
    my $r = get($c, "/$p/nopub/1");
    my $id = $r->{json}{sessionId} // '';
    my $out = "new: $r->{status}, hash: "
              . r('EXISTS', "$NS:sessions:$id") . "\n";
    r('ACL', 'DELUSER', 'ss056nopub');
    return $out;
}

run_tests();

__DATA__

=== TEST 1: jdk, scripts: a new session and a touch, byte for byte Spring's; the created event is Java's HashMap
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::jdk_new('s', 'jdk') }
--- response_body eval
main::jdk_new_text()
--- no_error_log
[error]
[warn]



=== TEST 2: jdk, plain commands: the same
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::jdk_new('p', 'jdk') }
--- response_body eval
main::jdk_new_text()
--- no_error_log
[error]
[warn]



=== TEST 3: jdk: an attribute the HashMap puts among the numbers (bucket 1: lastAccessedTime, it, maxInactiveInterval, creationTime), scripts and plain
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::jdk_new('s', 'jdk-c', 'sessionAttr:c')
      . main::jdk_new('p', 'jdk-c', 'sessionAttr:c') }
--- response_body eval
main::jdk_new_text('sessionAttr:c') x 2
--- no_error_log
[error]
[warn]



=== TEST 4: jdk: an attribute in creationTime's bucket, after it
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::jdk_new('s', 'jdk-x', 'sessionAttr:x') }
--- response_body eval
main::jdk_new_text('sessionAttr:x')
--- no_error_log
[error]
[warn]



=== TEST 5: json: the hash, the bucket member and the created event as Jackson writes them, scripts and plain, two attribute names
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { CORE::join '', map { main::json_new(@$_) }
      [s => 'json'], [p => 'json'], [s => 'json-c', 'sessionAttr:c'],
      [p => 'json-c', 'sessionAttr:c'] }
--- response_body eval
my $t = <<'EOT';
creationTime: as expected
lastAccessedTime: as expected
maxInactiveInterval: as expected
attribute: as expected
bucket member: as expected
published: 1
channel: as expected
created event: as expected
EOT
($t . "keys in order: lastAccessedTime maxInactiveInterval creationTime"
    . " sessionAttr:scopedTarget.sampleSession\n") x 2
. ($t . "keys in order: lastAccessedTime sessionAttr:c maxInactiveInterval"
      . " creationTime\n") x 2
--- no_error_log
[error]
[warn]



=== TEST 6: default repository: the hash alone, PEXPIREAT lastAccessedTime + n, no event; invalidation deletes it
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { CORE::join '', map { main::default_repo(@$_) }
      [s => 'default', 'default'], [p => 'default', 'default'],
      [s => 'default-json'], [p => 'default-json'] }
--- response_body eval
my $t = <<'EOT';
new: 200, keys: spring:session:sessions:<id>
hash: pttl about 1800000
published: 0
touch: 200, same id: yes, keys: spring:session:sessions:<id>
hash after the touch: pttl about 1800000
EOT
($t . "invalidate: 302, keys: (none)\n") x 2 . $t x 2
--- no_error_log
[error]
[warn]



=== TEST 7: sorted set of expirations: ZADD with Java's score text, the score follows the touches, no bucket; invalidation ZREMs
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { CORE::join '', map { main::zset(@$_) }
      [s => 'zset'], [p => 'zset'], [s => 'zset-jdk', 1],
      [p => 'zset-jdk', 1] }
--- response_body eval
<<'EOT' x 4
new: 200, keys: spring:session:sessions:<id> spring:session:sessions:expirations spring:session:sessions:expires:<id>
member and score: as expected
shadow key: pttl about 1800000
ZADD as Spring sends it: as expected
score after a touch: as expected
invalidate: 302, keys: spring:session:sessions:<id>
zset: 0 members
EOT
--- no_error_log
[error]
[warn]



=== TEST 8: invalidation: the principal's index loses the id, the member goes to the bucket of lastAccessedTime + 0 for 300 s; JSON and JDK, ASCII and non-BMP names, scripts and plain
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { CORE::join '', map { main::invalidate(@$_) }
      [s => 0, 'alice'], [p => 0, 'alice'], [s => 1, 'alice'],
      [p => 1, 'alice'], [s => 0, "b\x{f6}b\x{1F600}"],
      [p => 0, "b\x{f6}b\x{1F600}"], [s => 1, "b\x{f6}b\x{1F600}"],
      [p => 1, "b\x{f6}b\x{1F600}"] }
--- response_body eval
<<'EOT' x 8
invalidate: 302
index: as expected
maxInactiveInterval: as expected
hash: pttl about 300000
shadow key: 0
old bucket: 0
bucket of lastAccessedTime + 0: as expected
its TTL: pttl about 300000
EOT
--- no_error_log
[error]
[warn]



=== TEST 9: a JSON session at a jdk location, a JDK one at a json location: left untouched, a new session, the log names the format
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { CORE::join '', map { main::other_format(@$_) }
      [s => 'jdk', 'json'], [p => 'jdk', 'json'], [s => 'json', 'jdk'],
      [p => 'json', 'jdk'] }
--- response_body
request: 200 new=true other id=yes
hash untouched: as expected
new session in jdk
request: 200 new=true other id=yes
hash untouched: as expected
new session in jdk
request: 200 new=true other id=yes
hash untouched: as expected
new session in json
request: 200 new=true other id=yes
hash untouched: as expected
new session in json
--- error_log eval
[qr/\[warn\].*session "b1b2c3d4-0000-4000-8000-000000000001" in redis 127\.0\.0\.1:\d+ is stored with JSON serialization, not the JDK of "shared_session_serializer jdk"; left untouched/,
 qr/\[warn\].*session "b1b2c3d4-0000-4000-8000-000000000001" in redis 127\.0\.0\.1:\d+ is stored with JDK serialization, not the JSON of "shared_session_serializer json"; left untouched/]
--- no_error_log
[error]



=== TEST 10: a hash of mixed formats is not a session either, for both serializers
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { CORE::join '', map { main::other_format(@$_) }
      [s => 'jdk', 'mixed'], [p => 'jdk', 'mixed'], [s => 'json', 'mixed'],
      [p => 'json', 'mixed'] }
--- response_body
request: 200 new=true other id=yes
hash untouched: as expected
new session in jdk
request: 200 new=true other id=yes
hash untouched: as expected
new session in jdk
request: 200 new=true other id=yes
hash untouched: as expected
new session in json
request: 200 new=true other id=yes
hash untouched: as expected
new session in json
--- error_log eval
qr/\[warn\].*invalid session "b1b2c3d4-0000-4000-8000-000000000001" in redis 127\.0\.0\.1:\d+: not a hash with creationTime, lastAccessedTime and maxInactiveInterval; left untouched/
--- no_error_log
[error]
serialization, not the



=== TEST 11: shared_session_jdk_serial_version_uid: the bean is written with it; previousHost is read from a bean of another serialVersionUID, either way
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::suid('s') . main::suid('p') }
--- response_body eval
<<"EOT" x 2
touch: 200 previousHost=h\xc3\xa9\xf0\x9f\x98\x80
attribute: as expected
default SUID location: previousHost=nginx-1
EOT
--- no_error_log
[error]
[warn]



=== TEST 12: the created event's channel names shared_session_redis_database, as Spring's does
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::db_channel('s') . main::db_channel('p') }
--- response_body eval
"new: 200\nhash in database 3: 1\nchannel: as expected\n" x 2
--- no_error_log
[error]
[warn]



=== TEST 13: a server that refuses PUBLISH (an ACL without it): the session is written all the same, the missing event logged
--- config eval
$main::config
--- request
GET /ping
--- response_body_filters eval
sub { main::no_publish('s') . main::no_publish('p') }
--- response_body
new: 200, hash: 1
new: 200, hash: 1
--- error_log eval
qr/\[warn\].*shared session: redis 127\.0\.0\.1:\d+: created event of session "[0-9a-f-]{36}" not published: NOPERM/
--- no_error_log
[error]
