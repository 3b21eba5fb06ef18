package org.debugroom.mynavi.sample.aws.elasticache.app.web.model;

import java.io.Serializable;
import java.util.Date;

/* The bean with a declared serialVersionUID: same fields, other number. */
public class SampleSession implements Serializable {

    private static final long serialVersionUID = 1L;

    private String host;
    private Date lastUpdatedAt;

    public void setHost(String host) {
        this.host = host;
    }

    public void setLastUpdatedAt(Date lastUpdatedAt) {
        this.lastUpdatedAt = lastUpdatedAt;
    }
}
