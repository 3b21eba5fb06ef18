package org.debugroom.mynavi.sample.aws.elasticache.app.web.model;

import java.io.Serializable;
import java.util.Date;

/*
 * Another version of the bean: fields added around the two the module
 * reads, so that the stream holds primitives of every type to skip and
 * back-references (repeated type strings, Date's class descriptor, the
 * same Date and String objects twice).
 */
public class SampleSession implements Serializable {

    private static final long serialVersionUID = 42L;

    private byte level;
    private char grade;
    private short rank;
    private float ratio;
    private double score;
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
        this.level = -3;
        this.grade = '\u00e9';
        this.rank = -300;
        this.ratio = 0.5f;
        this.score = -1.25;
        this.visits = visits;
        this.total = total;
        this.admin = true;
        this.created = created;
        this.note = note;
    }
}
