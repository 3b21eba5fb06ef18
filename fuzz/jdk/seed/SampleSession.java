package org.debugroom.mynavi.sample.aws.elasticache.app.web.model;

import java.io.Serializable;
import java.util.Date;
import java.util.Objects;

/*
 * The seed's bean as javac sees it after Lombok (@AllArgsConstructor
 * @NoArgsConstructor @Builder @Data, no serialVersionUID): the same
 * non-private members, hence the same computed serialVersionUID
 * (0x204acd3ade8be876), without needing Lombok here.  Only the signatures
 * matter to that number; the bodies are ours.
 */
public class SampleSession implements Serializable {

    private String host;
    private Date lastUpdatedAt;

    public static class SampleSessionBuilder {

        private String host;
        private Date lastUpdatedAt;

        SampleSessionBuilder() {
        }

        public SampleSessionBuilder host(String host) {
            this.host = host;
            return this;
        }

        public SampleSessionBuilder lastUpdatedAt(Date lastUpdatedAt) {
            this.lastUpdatedAt = lastUpdatedAt;
            return this;
        }

        public SampleSession build() {
            return new SampleSession(host, lastUpdatedAt);
        }

        @Override
        public String toString() {
            return "SampleSessionBuilder(" + host + ", " + lastUpdatedAt + ")";
        }
    }

    public static SampleSessionBuilder builder() {
        return new SampleSessionBuilder();
    }

    public SampleSession(String host, Date lastUpdatedAt) {
        this.host = host;
        this.lastUpdatedAt = lastUpdatedAt;
    }

    public SampleSession() {
    }

    public String getHost() {
        return host;
    }

    public Date getLastUpdatedAt() {
        return lastUpdatedAt;
    }

    public void setHost(String host) {
        this.host = host;
    }

    public void setLastUpdatedAt(Date lastUpdatedAt) {
        this.lastUpdatedAt = lastUpdatedAt;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SampleSession)) {
            return false;
        }
        SampleSession s = (SampleSession) o;
        return s.canEqual(this) && Objects.equals(host, s.host)
               && Objects.equals(lastUpdatedAt, s.lastUpdatedAt);
    }

    protected boolean canEqual(Object other) {
        return other instanceof SampleSession;
    }

    @Override
    public int hashCode() {
        return Objects.hash(host, lastUpdatedAt);
    }

    @Override
    public String toString() {
        return "SampleSession(host=" + host + ", lastUpdatedAt="
               + lastUpdatedAt + ")";
    }
}
