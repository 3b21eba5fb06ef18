/*
 * Copyright (C) ngx_http_shared_session_module authors
 *
 * The golden bytes of src/ngx_http_shared_session_jdk.c: what Java 17's
 * ObjectOutputStream writes for each value, one stream per file, as
 * Spring's JdkSerializationRedisSerializer writes one hash value.
 *
 *     java -cp <classes of one SampleSession version> Golden DIR SET
 *
 * writes DIR/golden-* and prints one manifest line per file:
 *
 *     <file> long <n>
 *     <file> integer <n>
 *     <file> string <text>                    encode and decode
 *     <file> string-read <text>               decode only
 *     <file> session <class> <suid> <host> <ms>           both ways
 *     <file> session-read <class> <suid> <host> <ms>      decode only
 *
 * <text>, <class> and <host> are the expected UTF-8 in hex after an "x"
 * (an unpaired surrogate as U+FFFD), "x<hex>*<n>" for n repetitions, or
 * "null"; <ms> is a number or "null".  SET is "seed" (the seed's class,
 * computed serialVersionUID), "suid1" (a declared serialVersionUID) or
 * "extra" (another version of the class).  fuzz/jdk/golden.sh runs all
 * three.
 */

import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Date;

import org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession;


public class Golden {

    private static final String CLASS = SampleSession.class.getName();

    private final String dir;

    private Golden(String dir) {
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        Golden g = new Golden(args[0]);

        switch (args[1]) {
        case "seed":
            g.numbers();
            g.strings();
            g.sessions();
            break;
        case "suid1":
            g.session("session-suid1", "session", "container-1",
                      1552129074569L);
            break;
        case "extra":
            g.extra();
            break;
        default:
            throw new IllegalArgumentException(args[1]);
        }
    }

    private void numbers() throws IOException {
        long[] longs = {
            0, 1, -1, 127, 128, 255, 256, Integer.MAX_VALUE,
            1L << 31, 1L << 32, (1L << 53) - 1, 1L << 53, (1L << 53) + 1,
            -(1L << 53), -(1L << 53) - 1, Long.MIN_VALUE, Long.MAX_VALUE,
            1552128921707L, 1552129074379L, 1700000000000L, 4102444800000L
        };
        int[] ints = {
            0, 1, -1, 300, 1800, 65536, Integer.MIN_VALUE, Integer.MAX_VALUE
        };

        for (long n : longs) {
            write("long-" + name(n), Long.valueOf(n), "long " + n);
        }

        for (int n : ints) {
            write("integer-" + name(n), Integer.valueOf(n), "integer " + n);
        }
    }

    private static String name(long n) {
        return n < 0 ? "minus-" + Long.toString(n).substring(1)
                     : Long.toString(n);
    }

    private void strings() throws IOException {
        string("empty", "");
        string("ascii", "hello");
        string("host", "container-1");
        string("e-acute", "\u00e9");
        string("nul", "\0");
        string("nul-inside", "a\0b");
        string("euro", "\u20ac");
        string("cjk", "\u65e5\u672c\u8a9e");
        string("emoji", "\ud83d\ude00");
        string("max-bmp", "\uffff");
        string("bucket-member", "expires:33fdd1b6-b496-4b33-9f7d-df96679d32fe");
        string("mixed", "h\u00e9\0\u20ac\ud83d\ude00x");
        string("65535-bytes", "x".repeat(65535));
        string("70000-chars", "x".repeat(70000));
        string("70000-bytes-35000-chars", "\u00e9".repeat(35000));

        /* Java can hold these; UTF-8 cannot: U+FFFD each */
        string("lone-high", "\ud800");
        string("lone-low", "\udc00x");
        string("swapped-pair", "\udc00\ud800");
    }

    private void string(String name, String s) throws IOException {
        boolean lossy = !s.equals(utf8(s));

        write("string-" + name, s,
              (lossy ? "string-read " : "string ") + text(s));
    }

    private void sessions() throws IOException {
        session("session-host", "session", "container-1", 1552129074569L);
        session("session-host-null", "session", null, 1552129074569L);
        session("session-host-empty", "session", "", 1552129074569L);
        session("session-host-utf8", "session",
                "h\u00f4te-\u65e5\u672c-\ud83d\ude00", 1700000000000L);
        session("session-host-nul", "session", "a\0b", 0L);
        session("session-date-null", "session", "c95883d5424d", null);
        session("session-date-negative", "session", "c95883d5424d", -1L);
        session("session-host-long", "session", "\u00e9".repeat(35000),
                1552129074569L);

        /*
         * A host that is the very String object of a type string (an
         * interned literal): Java then writes a back-reference, which
         * the module reads but never writes.
         */
        session("session-host-reference", "session-read",
                "Ljava/lang/String;", 1552129074569L);
    }

    private void session(String name, String kind, String host, Long ms)
        throws IOException
    {
        SampleSession s = new SampleSession();

        s.setHost(host);
        s.setLastUpdatedAt(ms == null ? null : new Date(ms));

        write(name, s, kind + " " + sessionLine(host, ms));
    }

    /*
     * Fields to skip; back-references to type strings, and to the same
     * String and Date objects or to Date's class descriptor.
     */

    private void extra() throws Exception {
        String host = new String("container-2");
        Date date = new Date(1552129074569L);

        extra("session-extra-fields", host, date, date, host);
        extra("session-extra-fields-two-dates", host, date,
              new Date(1400000000000L), null);
    }

    private void extra(String name, String host, Date date, Date created,
                       String note)
        throws Exception
    {
        SampleSession s = new SampleSession();

        s.setHost(host);
        s.setLastUpdatedAt(date);
        SampleSession.class.getMethod("setExtra", int.class, long.class,
                                      Date.class, String.class)
            .invoke(s, 7, -2L, created, note);

        write(name, s, "session-read " + sessionLine(host, date.getTime()));
    }

    private static String sessionLine(String host, Long ms) {
        long suid = ObjectStreamClass.lookup(SampleSession.class)
                                     .getSerialVersionUID();

        return text(CLASS) + " " + suid + " " + text(host) + " "
               + (ms == null ? "null" : ms.toString());
    }

    private void write(String name, Serializable value, String line)
        throws IOException
    {
        /* as Spring's SerializingConverter: one stream, flushed */
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ObjectOutputStream out = new ObjectOutputStream(bytes);

        out.writeObject(value);
        out.flush();

        try (FileOutputStream f = new FileOutputStream(dir + "/golden-"
                                                       + name)) {
            f.write(bytes.toByteArray());
        }

        System.out.println("golden-" + name + " " + line);
    }

    /* the String with each unpaired surrogate as U+FFFD */

    private static String utf8(String s) {
        StringBuilder b = new StringBuilder();

        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);

            if (Character.isHighSurrogate(c) && i + 1 < s.length()
                && Character.isLowSurrogate(s.charAt(i + 1)))
            {
                b.append(c).append(s.charAt(++i));

            } else if (Character.isSurrogate(c)) {
                b.append('\ufffd');

            } else {
                b.append(c);
            }
        }

        return b.toString();
    }

    private static String text(String s) {
        if (s == null) {
            return "null";
        }

        byte[] b = utf8(s).getBytes(StandardCharsets.UTF_8);

        /* a long run of one character: its bytes and a count */
        int unit = s.isEmpty() ? 0 : s.offsetByCodePoints(0, 1);

        if (s.length() > 64 && s.equals(s.substring(0, unit)
                                         .repeat(s.length() / unit)))
        {
            return hex(utf8(s.substring(0, unit))
                       .getBytes(StandardCharsets.UTF_8))
                   + "*" + (s.length() / unit);
        }

        return hex(b);
    }

    private static String hex(byte[] b) {
        StringBuilder h = new StringBuilder("x");

        for (byte x : b) {
            h.append(String.format("%02x", x & 0xff));
        }

        return h.toString();
    }
}
