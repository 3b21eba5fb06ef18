package org.debugroom.mynavi.sample.aws.elasticache.app.web.model;

import java.io.Serializable;
import java.util.Date;

import org.springframework.stereotype.Component;
import org.springframework.web.context.annotation.SessionScope;

import lombok.AllArgsConstructor;
import lombok.Builder;
import lombok.Data;
import lombok.NoArgsConstructor;

/*
 * The seed's session-scoped bean, declared exactly as the seed declares it
 * (Lombok, no serialVersionUID): under JDK serialization its stream carries
 * the serialVersionUID the JVM computes from these members, so the same
 * annotations give the same bytes as the seed.
 */
@SessionScope
@Component
@AllArgsConstructor
@NoArgsConstructor
@Builder
@Data
public class SampleSession implements Serializable {

    private String host;
    private Date lastUpdatedAt;

}
