package org.debugroom.mynavi.sample.aws.elasticache.app.web.model;

import java.io.Serializable;
import java.util.Date;

/*
 * Another version of the bean: fields added around the two the module
 * reads, so that the stream holds primitives to skip and back-references
 * (a repeated type string, the same Date and String objects twice).
 */
public class SampleSession implements Serializable {

    private static final long serialVersionUID = 42L;

    private int visits;
    private long total;
    private boolean admin;
    private String host;
    private Date lastUpdatedAt;
    private Date created;
    private String note;

    public void setHost(String host) {
        this.host = host;
    }

    public void setLastUpdatedAt(Date lastUpdatedAt) {
        this.lastUpdatedAt = lastUpdatedAt;
    }

    public void setExtra(int visits, long total, Date created, String note) {
        this.visits = visits;
        this.total = total;
        this.admin = true;
        this.created = created;
        this.note = note;
    }
}
